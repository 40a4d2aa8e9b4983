/**
 * `netcheck analyze` output: a namespace-grouped truth table (rows: from, columns: to) with short column
 * keys and a legend, or one JSON document. Pure: analysis in, text out.
 */
import type { Analysis, AnalysisCell, DestinationPort } from '../policy/analyze.js';

const ALLOWED = '✓';
const DENIED = '✗';
const NO_PORT = '-';
/** Wider tables switch to the compact layout: a terminal (and a CI log) of 120 columns shows a row whole. */
const TABLE_WIDTH = 120;

/** A, B, ..., Z, AA, AB, ... */
function namespaceLetter(index: number): string {
  let s = '';
  let i = index;
  do {
    s = String.fromCharCode(65 + (i % 26)) + s;
    i = Math.floor(i / 26) - 1;
  } while (i >= 0);
  return s;
}

function formatDestinationPort(dp: DestinationPort): string {
  if (dp.portName !== undefined) return dp.port === null ? `${dp.portName}/${dp.protocol} (not declared)` : `${dp.portName}=${dp.port}/${dp.protocol}`;
  return `${dp.port ?? '?'}/${dp.protocol}`;
}

function pad(s: string, width: number): string {
  const length = [...s].length;
  return length >= width ? s : s + ' '.repeat(width - length);
}

/** `head` then the items joined by ", ", broken before an item that would pass TABLE_WIDTH. */
function wrapList(head: string, items: string[], indent: string): string[] {
  const lines: string[] = [];
  let line = head;
  items.forEach((item, i) => {
    const text = i < items.length - 1 ? `${item},` : item;
    const sep = line === head || line === indent ? '' : ' ';
    if (line !== head && line !== indent && [...line].length + 1 + [...text].length > TABLE_WIDTH) {
      lines.push(line);
      line = indent + text;
    } else {
      line += sep + text;
    }
  });
  lines.push(line);
  return lines;
}

export function renderAnalysisTable(analysis: Analysis, skipped: Record<string, number> = {}): string {
  const { pods, destinationPorts, cells } = analysis;
  const out: string[] = [];
  if (pods.length === 0) return 'no pods in the manifests (Pods or workloads): nothing to analyze\n';

  const namespaces = [...new Set(pods.map((p) => p.namespace))];
  const keys: string[] = [];
  const counters = new Map<string, number>();
  for (const pod of pods) {
    const letter = namespaceLetter(namespaces.indexOf(pod.namespace));
    const next = (counters.get(pod.namespace) ?? 0) + 1;
    counters.set(pod.namespace, next);
    keys.push(`${letter}${next}`);
  }
  const allowedByKey = new Map<string, boolean>();
  for (const c of cells) allowedByKey.set(`${c.from}\u0000${c.to}\u0000${c.port}\u0000${c.portName ?? ''}\u0000${c.protocol}`, c.allowed);
  const podName = (i: number): string => `${pods[i]?.namespace}/${pods[i]?.name}`;

  const multiPort = destinationPorts.some((d) => d.length > 1);
  const named = destinationPorts.some((d) => d.some((dp) => dp.portName !== undefined));
  const rowLabels = pods.map((p, i) => `${keys[i]} ${p.name}`);
  const labelWidth = Math.max('from \\ to'.length, ...rowLabels.map((l) => [...l].length));

  const groupStarts = new Set<number>();
  pods.forEach((p, i) => {
    if (i === 0 || pods[i - 1]?.namespace !== p.namespace) groupStarts.add(i);
  });
  const markWidth = pods.map((_, i) => (destinationPorts[i] ?? []).length || 1);
  const wideWidth = pods.map((_, i) => Math.max((keys[i] ?? '').length, markWidth[i] ?? 1));
  const measure = (widths: number[], gap: string): number =>
    labelWidth + widths.reduce((sum, w, i) => sum + w + (groupStarts.has(i) ? 3 : gap.length), 0);
  // Compact: columns are only as wide as their marks, headed by the namespace letter; the legend gives each
  // column's position in its group. Pods with several ports keep a space between them so marks stay attributable.
  const compact = measure(wideWidth, ' ') > TABLE_WIDTH;
  const columnWidth = compact ? markWidth : wideWidth;
  const gap = compact && !multiPort ? '' : ' ';

  const renderRow = (label: string, values: string[]): string => {
    let line = pad(label, labelWidth);
    values.forEach((v, i) => {
      line += groupStarts.has(i) ? ' │ ' : gap;
      line += pad(v, columnWidth[i] ?? 1);
    });
    return line.trimEnd();
  };
  const renderCompactHeader = (): string => {
    let line = pad('from \\ to', labelWidth);
    pods.forEach((p, i) => {
      const group = pods.map((q, j) => ({ q, j })).filter(({ q, j }) => q.namespace === p.namespace && j >= i);
      if (!groupStarts.has(i)) return;
      const width = group.reduce((sum, { j }) => sum + (columnWidth[j] ?? 1), 0) + gap.length * (group.length - 1);
      line += ' │ ' + pad(namespaceLetter(namespaces.indexOf(p.namespace)), width);
    });
    return line.trimEnd();
  };

  out.push(compact ? renderCompactHeader() : renderRow('from \\ to', keys));
  let previousNs: string | undefined;
  pods.forEach((src, r) => {
    if (previousNs !== src.namespace) out.push(`${src.namespace}:`);
    previousNs = src.namespace;
    const values = pods.map((_, c) => {
      const ports = destinationPorts[c] ?? [];
      if (ports.length === 0) return NO_PORT;
      return ports
        .map((dp) => {
          const allowed = allowedByKey.get(`${podName(r)}\u0000${podName(c)}\u0000${dp.port}\u0000${dp.portName ?? ''}\u0000${dp.protocol}`);
          return dp.port === null ? NO_PORT : allowed ? ALLOWED : DENIED;
        })
        .join('');
    });
    out.push(renderRow(`${rowLabels[r]}`, values));
  });

  // One footer port only when every destination answers on the same one; otherwise the legend lists each.
  const portsSeen = new Set(destinationPorts.flatMap((d) => d.map(formatDestinationPort)));
  const samePort = portsSeen.size <= 1;
  out.push('');
  out.push('columns:');
  namespaces.forEach((ns, n) => {
    const members = pods
      .map((p, i) => ({ p, i }))
      .filter(({ p }) => p.namespace === ns)
      .map(({ p, i }) => {
        const ports = (destinationPorts[i] ?? []).map(formatDestinationPort);
        const showPorts = multiPort || named || !samePort || ports.length !== 1;
        return `${keys[i]} ${p.name}${showPorts ? ` [${ports.length > 0 ? ports.join(' ') : 'no ports declared'}]` : ''}`;
      });
    out.push(...wrapList(`  ${namespaceLetter(n)} = ${ns}${compact ? ' (columns in this order)' : ''}: `, members, '      '));
  });
  const single = destinationPorts.find((d) => d.length > 0)?.[0];
  if (named && single) out.push(`port: ${single.portName}/${single.protocol}, resolved per destination`);
  else if (!multiPort && samePort && single) out.push(`port: ${formatDestinationPort(single)}`);
  const allowed = cells.filter((c) => c.allowed).length;
  out.push(
    `${ALLOWED} allowed, ${DENIED} denied, ${NO_PORT} no such port${multiPort ? '; one mark per destination port, in the order listed' : ''}. ` +
      `${pods.length} pods, ${cells.length} cells, ${allowed} allowed.`,
  );
  const skippedKinds = Object.keys(skipped).sort();
  if (skippedKinds.length > 0) out.push(`skipped kinds: ${skippedKinds.map((k) => `${k} ×${skipped[k]}`).join(', ')}`);
  return `${out.join('\n')}\n`;
}

export function sortedSkipped(skipped: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(skipped).sort()) out[k] = skipped[k] as number;
  return out;
}

/** The cells document, byte for byte what JSON.stringify(doc, null, 2) gives, one cell at a time. */
export function* cellsDocumentChunks(cells: Iterable<AnalysisCell>, skipped: Record<string, number>): Generator<string> {
  yield '{\n  "cells": [';
  let first = true;
  for (const cell of cells) {
    yield `${first ? '' : ','}\n    ${JSON.stringify(cell, null, 2).replace(/\n/g, '\n    ')}`;
    first = false;
  }
  yield `${first ? ']' : '\n  ]'},\n  "skipped": ${JSON.stringify(sortedSkipped(skipped), null, 2).replace(/\n/g, '\n  ')}\n}\n`;
}

export function renderAnalysisJson(analysis: Analysis, skipped: Record<string, number> = {}): string {
  return [...cellsDocumentChunks(analysis.cells, skipped)].join('');
}
