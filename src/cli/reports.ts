/**
 * The reports a command writes: `-o FORMAT[=FILE]` parsing, checking every FILE before anything runs, and
 * writing each report. Rendering itself is pure (src/report); this is the file-system edge.
 */
import { constants } from 'node:fs';
import { access, appendFile, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { InternalError, UsageError } from '../model/errors.js';
import type { RunResult } from '../model/verdict.js';
import { renderJson } from '../report/render-json.js';
import { renderJunit } from '../report/render-junit.js';
import { renderMarkdown } from '../report/render-markdown.js';
import { renderTable, type TableView } from '../report/render-table.js';
import { toSnapshot } from '../run/snapshot.js';
import { findNearestName } from '../scenario/nearest-name.js';
import { netcheckVersion } from './version.js';

/** `snapshot` is a JSON snapshot file for `netcheck diff` (src/model/snapshot.ts), never for stdout. */
const FORMATS = ['table', 'json', 'junit', 'markdown', 'snapshot'] as const;
export type Format = (typeof FORMATS)[number];
/** What reports of a judged set of cells can be, without a snapshot: `check`, `diff`. */
export const REPORT_FORMATS: readonly Format[] = ['table', 'json', 'junit', 'markdown'];
export interface OutputSpec {
  format: Format;
  /** Absent: stdout. */
  file?: string;
  /** Add the report to the end of `file` instead of replacing it (Markdown only; see appendsMarkdown). */
  append?: boolean;
}

export interface OutputOptions {
  /** The formats this command writes (default: every one). */
  formats?: readonly Format[];
  /** `--append`. */
  append?: boolean;
  /** Where $GITHUB_STEP_SUMMARY is read (default: process.env). */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * `-o markdown=FILE` appends when FILE is GitHub's step summary ($GITHUB_STEP_SUMMARY: every step of a job appends
 * to that one file, and replacing it would erase the steps before) or when `--append` says so; otherwise it
 * replaces FILE. Other formats always replace theirs: two JSON or XML documents in one file are neither.
 */
function appendsMarkdown(file: string, options: OutputOptions): boolean {
  if (options.append === true) return true;
  const summary = (options.env ?? process.env)['GITHUB_STEP_SUMMARY'];
  return summary !== undefined && summary !== '' && resolve(summary) === resolve(file);
}

/** `-o table`, `-o json=report.json`, … (several allowed; without =FILE the report goes to stdout). */
export function parseOutputs(values: readonly string[] | undefined, options: OutputOptions = {}): OutputSpec[] {
  const specs = parseOutputValues(values, options.formats ?? FORMATS);
  if (options.append === true && !specs.some((s) => s.format === 'markdown' && s.file !== undefined)) {
    throw new UsageError('--append applies to a Markdown report written to a file, and there is none', { hint: 'e.g. -o markdown=summary.md --append' });
  }
  return specs.map((spec) => (spec.format === 'markdown' && spec.file !== undefined && appendsMarkdown(spec.file, options) ? { ...spec, append: true } : spec));
}

function parseOutputValues(values: readonly string[] | undefined, formats: readonly Format[]): OutputSpec[] {
  if (!values || values.length === 0) return [{ format: 'table' }];
  return values.map((value) => {
    const eq = value.indexOf('=');
    const format = (eq < 0 ? value : value.slice(0, eq)).trim();
    const file = eq < 0 ? undefined : value.slice(eq + 1).trim();
    if (!(formats as readonly string[]).includes(format)) {
      const near = findNearestName(format, formats);
      const known = (FORMATS as readonly string[]).includes(format) ? `this command does not write ${format}` : `unknown format "${format}"`;
      throw new UsageError(`-o ${value}: ${known}${near && near !== format ? `; did you mean \`${near}\`?` : ''}`, {
        hint: `formats: ${formats.join(', ')}, each optionally =FILE`,
      });
    }
    if (file === '') throw new UsageError(`-o ${value}: missing file name after "="`);
    // A JUnit report is for a CI tool to read from a file; on stdout it would only be mixed with progress and tables.
    if (format === 'junit' && file === undefined) throw new UsageError(`-o junit: name the file, e.g. -o junit=netcheck.xml`);
    if (format === 'snapshot' && file === undefined) throw new UsageError(`-o snapshot: name the file, e.g. -o snapshot=before.json`);
    return file === undefined ? { format: format as Format } : { format: format as Format, file };
  }).map((spec, index, all) => {
    const same = all.findIndex((other) => other.file === spec.file);
    if (same !== index) {
      throw new UsageError(
        spec.file === undefined
          ? `-o ${all[same]?.format} and -o ${spec.format} would both print to stdout; send one to a file (-o ${spec.format}=FILE)`
          : `-o ${spec.format}=${spec.file}: ${spec.file} is already the target of -o ${all[same]?.format}`,
      );
    }
    return spec;
  });
}

/**
 * Fails before anything is probed when a report could not be written: a run can take a minute and create pods,
 * and its result must not be lost to a typo in a path.
 */
export async function checkOutputFiles(outputs: readonly OutputSpec[]): Promise<void> {
  for (const out of outputs) {
    if (out.file === undefined) continue;
    const flag = `-o ${out.format}=${out.file}`;
    const dir = dirname(resolve(out.file));
    const dirStat = await stat(dir).catch(() => undefined);
    if (!dirStat?.isDirectory()) throw new UsageError(`${flag}: directory ${dir} does not exist`, { hint: 'create it first, or write the report elsewhere' });
    const fileStat = await stat(out.file).catch(() => undefined);
    if (fileStat?.isDirectory()) throw new UsageError(`${flag}: ${out.file} is a directory; name a file in it`);
    try {
      await access(fileStat ? out.file : dir, constants.W_OK);
    } catch {
      throw new UsageError(`${flag}: ${fileStat ? out.file : dir} is not writable`);
    }
  }
}

/** What a snapshot records beside the result. */
export interface SnapshotContext {
  perNode: boolean;
}

/** Every report of a run: stdout ones printed, file ones written (or appended to, as their spec says). */
export async function writeReports(
  outputs: readonly OutputSpec[],
  result: RunResult,
  snapshot: SnapshotContext = { perNode: false },
  view: TableView = {},
): Promise<void> {
  // --failures-only / --show-known shape what a person reads (table, Markdown); JSON and JUnit stay complete.
  await writeOutputs(outputs, {
    table: () => renderTable(result, undefined, view),
    json: () => renderJson(result),
    junit: () => renderJunit(result),
    markdown: () => renderMarkdown(result, view.failuresOnly === true ? { failuresOnly: true } : {}),
    snapshot: () => JSON.stringify(toSnapshot(result, { netcheckVersion: netcheckVersion(), perNode: snapshot.perNode }), null, 2) + '\n',
  });
}

/** How a command renders each format it writes; parseOutputs' `formats` must not offer one it lacks. */
export type Renderers = Partial<Record<Format, () => string>>;

/** Any command's reports: stdout ones printed, file ones written or appended to. */
export async function writeOutputs(outputs: readonly OutputSpec[], renderers: Renderers): Promise<void> {
  for (const out of outputs) {
    const renderAs = renderers[out.format];
    if (renderAs === undefined) throw new InternalError(`no renderer for -o ${out.format}: parseOutputs offered a format this command does not write`);
    const text = renderAs();
    if (out.file === undefined) process.stdout.write(text);
    else if (out.append === true) {
      // A blank line first, so this report's heading starts a block of its own after what is already there.
      const size = (await stat(out.file).catch(() => undefined))?.size ?? 0;
      await appendFile(out.file, size > 0 ? `\n${text}` : text);
    } else await writeFile(out.file, text);
  }
}
