/**
 * `netcheck lint --manifests PATH...`: the platform rules as findings. Reports: table or json on stdout (or =FILE),
 * junit=FILE, sarif=FILE (GitHub code scanning); several at once. Exit 1 when a finding at or above `--fail-on`
 * (default error) exists, 0 otherwise, 2 on bad input.
 */
import { writeFile } from 'node:fs/promises';
import type { Argv } from 'yargs';
import { ExitCode, UsageError } from '../../model/errors.js';
import { failsLint, lintSnapshot, type LintFailOn } from '../../policy/lint.js';
import { renderLintJson, renderLintJunit, renderLintTable } from '../../report/render-lint.js';
import { renderLintSarif } from '../../report/render-sarif.js';
import { findNearestName } from '../../scenario/nearest-name.js';
import { COMMANDS } from './catalog.js';
import { defineCommand } from '../command.js';
import { loadManifests, withManifests, type ManifestArgs } from '../offline-flags.js';
import { checkOutputFiles } from '../reports.js';

const FORMATS = ['table', 'json', 'junit', 'sarif'] as const;
type LintFormat = (typeof FORMATS)[number];
const FAIL_ON: readonly LintFailOn[] = ['error', 'warning', 'none'];

interface LintArgs extends ManifestArgs {
  output?: string[];
  'fail-on': string;
}

/** `-o table`, `-o sarif=lint.sarif`, …: at most one on stdout; junit and sarif are files for CI to read. */
function parseLintOutputs(values: readonly string[] | undefined): Array<{ format: LintFormat; file?: string }> {
  const specs = (values ?? ['table']).map((value) => {
    const eq = value.indexOf('=');
    const format = (eq < 0 ? value : value.slice(0, eq)).trim();
    const file = eq < 0 ? undefined : value.slice(eq + 1).trim();
    if (!(FORMATS as readonly string[]).includes(format)) {
      const near = findNearestName(format, FORMATS);
      throw new UsageError(`-o ${value}: unknown format "${format}"${near ? `; did you mean \`${near}\`?` : ''}`, { hint: `formats: ${FORMATS.join(', ')}` });
    }
    if (file === '') throw new UsageError(`-o ${value}: missing file name after "="`);
    if ((format === 'junit' || format === 'sarif') && file === undefined) throw new UsageError(`-o ${format}: name the file, e.g. -o ${format}=lint.${format === 'junit' ? 'xml' : 'sarif'}`);
    return file === undefined ? { format: format as LintFormat } : { format: format as LintFormat, file };
  });
  if (specs.filter((s) => s.file === undefined).length > 1) throw new UsageError('-o: at most one report on stdout; send the others to files (-o FORMAT=FILE)');
  return specs;
}

function parseFailOn(value: string): LintFailOn {
  if ((FAIL_ON as readonly string[]).includes(value)) return value as LintFailOn;
  const near = findNearestName(value, FAIL_ON);
  throw new UsageError(`--fail-on ${value}: use error, warning or none${near ? `; did you mean \`${near}\`?` : ''}`);
}

export const lintCommand = defineCommand<LintArgs>({
  command: COMMANDS.lint.command,
  describe: COMMANDS.lint.describe,
  builder: (yargs: Argv) =>
    withManifests(yargs)
      .option('output', {
        alias: 'o',
        type: 'string',
        array: true,
        nargs: 1,
        describe: 'report: table | json [=FILE], junit=FILE, sarif=FILE (SARIF 2.1.0, for code scanning); repeatable, at most one on stdout (default: table)',
      })
      .option('fail-on', {
        type: 'string',
        nargs: 1,
        default: 'error',
        describe: 'exit 1 when a finding of this severity or worse exists: error, warning, or none (never)',
      })
      .example('$0 lint --manifests k8s/', 'findings NC001… with severity and a fix hint; exit 1 on an error')
      .example('$0 lint -f k8s/ -o table -o sarif=lint.sarif --fail-on warning', 'CI: annotations on the manifest lines; warnings fail too'),
  run: async (argv) => {
    const outputs = parseLintOutputs(argv.output);
    const failOn = parseFailOn(argv.failOn);
    await checkOutputFiles(outputs.map((o) => ({ format: 'json' as const, ...(o.file !== undefined ? { file: o.file } : {}) })));
    const { snapshot, skipped } = await loadManifests(argv.manifests);
    const findings = lintSnapshot(snapshot);
    for (const out of outputs) {
      const text =
        out.format === 'json' ? renderLintJson(findings, skipped)
        : out.format === 'junit' ? renderLintJunit(findings, failOn)
        : out.format === 'sarif' ? renderLintSarif(findings, { baseDir: process.cwd() })
        : renderLintTable(findings);
      if (out.file === undefined) process.stdout.write(text);
      else await writeFile(out.file, text);
    }
    return failsLint(findings, failOn) ? ExitCode.Mismatch : ExitCode.Pass;
  },
});
