/**
 * `netcheck analyze` output: a namespace-grouped truth table (rows: from, columns: to) with short column
 * keys and a legend, or one JSON document. Pure: analysis in, text out.
 */
import type { Analysis, DestinationPort } from '../policy/analyze.js';

const ALLOWED = '✓';
const DENIED = '✗';
const NO_PORT = '-';

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
  const columnWidth = pods.map((_, i) => Math.max((keys[i] ?? '').length, (destinationPorts[i] ?? []).length || 1));
  const rowLabels = pods.map((p, i) => `${keys[i]} ${p.name}`);
  const labelWidth = Math.max('from \\ to'.length, ...rowLabels.map((l) => [...l].length));

  const groupStarts = new Set<number>();
  pods.forEach((p, i) => {
    if (i === 0 || pods[i - 1]?.namespace !== p.namespace) groupStarts.add(i);
  });
  const renderRow = (label: string, values: string[]): string => {
    let line = pad(label, labelWidth);
    values.forEach((v, i) => {
      line += groupStarts.has(i) ? ' │ ' : ' ';
      line += pad(v, columnWidth[i] ?? 1);
    });
    return line.trimEnd();
  };

  out.push(renderRow('from \\ to', keys));
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

  out.push('');
  out.push('columns:');
  namespaces.forEach((ns, n) => {
    const members = pods
      .map((p, i) => ({ p, i }))
      .filter(({ p }) => p.namespace === ns)
      .map(({ p, i }) => {
        const ports = (destinationPorts[i] ?? []).map(formatDestinationPort);
        const showPorts = multiPort || named || ports.length !== 1;
        return `${keys[i]} ${p.name}${showPorts ? ` [${ports.length > 0 ? ports.join(' ') : 'no ports declared'}]` : ''}`;
      });
    out.push(`  ${namespaceLetter(n)} = ${ns}: ${members.join(', ')}`);
  });
  const single = destinationPorts.find((d) => d.length > 0)?.[0];
  if (named && single) out.push(`port: ${single.portName}/${single.protocol}, resolved per destination`);
  else if (!multiPort && single) out.push(`port: ${formatDestinationPort(single)}`);
  const allowed = cells.filter((c) => c.allowed).length;
  out.push(
    `${ALLOWED} allowed, ${DENIED} denied, ${NO_PORT} no such port${multiPort ? '; one mark per destination port, in the order listed' : ''}. ` +
      `${pods.length} pods, ${cells.length} cells, ${allowed} allowed.`,
  );
  const skippedKinds = Object.keys(skipped).sort();
  if (skippedKinds.length > 0) out.push(`skipped kinds: ${skippedKinds.map((k) => `${k} ×${skipped[k]}`).join(', ')}`);
  return `${out.join('\n')}\n`;
}

export function renderAnalysisJson(analysis: Analysis, skipped: Record<string, number> = {}): string {
  const sortedSkipped: Record<string, number> = {};
  for (const k of Object.keys(skipped).sort()) sortedSkipped[k] = skipped[k] as number;
  return `${JSON.stringify({ cells: analysis.cells, skipped: sortedSkipped }, null, 2)}\n`;
}
