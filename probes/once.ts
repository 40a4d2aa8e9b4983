/** A callback that acts on its first call only: a socket's timer, error and success race to settle one promise. */
export function once<T>(fn: (value: T) => void): (value: T) => void {
  let called = false;
  return (value) => {
    if (called) return;
    called = true;
    fn(value);
  };
}
