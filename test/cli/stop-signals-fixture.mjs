// A command with a cleanup, for test/cli/stop-signals.test.ts: `node [--import tsx] stop-signals-fixture.mjs URL`
// where URL is the stop-signals module to use (the built JavaScript, or the TypeScript source through tsx).
const { listenForStop } = await import(process.argv[2]);
let repeated;
const repeat = new Promise((resolve) => (repeated = resolve));
const stop = listenForStop({
  onStop: (why) => process.stdout.write(`stopping ${why}\n`),
  onRepeat: (signal) => {
    process.stdout.write(`absorbed ${signal}\n`);
    repeated();
  },
});
const alive = setInterval(() => undefined, 60_000);
process.stdout.write('ready\n');
await stop.requested;
// The cleanup ends only after a signal has landed in the middle of it (the test sends one once it reads `stopping`).
await repeat;
await new Promise((resolve) => setTimeout(resolve, 50));
clearInterval(alive);
process.stdout.write('cleaned up\n');
stop.dispose();
process.exitCode = stop.stoppedBy === 'SIGINT' ? 130 : 143;
