/**
 * The DNS chain in words: each link with its status and evidence, then the verdict (broken link, owner, next
 * command). Plain text for terminals (`netcheck dns`, and after a run's table), Markdown for CI summaries. Pure.
 */
import type { DnsChain, LinkStatus } from '../model/dns-chain.js';
import { wrap } from './wrap-text.js';

const MARK: Record<LinkStatus, string> = {
  ok: 'ok',
  broken: 'BROKEN',
  'not-visible': 'not visible',
  'not-checked': 'not checked',
  warning: 'warning',
};

function sourceTitle(chain: DnsChain): string {
  const s = chain.source;
  const labels = Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(',');
  return `${s.description ? `${s.description} ` : ''}(${s.namespace}${labels ? ` ${labels}` : ''})${s.node ? ` on ${s.node}` : ''}`;
}

function verdictLines(chain: DnsChain): string[] {
  const v = chain.verdict;
  const head = v.status === 'healthy' ? 'Verdict: healthy' : v.status === 'broken' ? `Verdict: broken at ${v.link}` : 'Verdict: undecided';
  return [
    `${head}: ${v.text}`,
    ...(v.owner ? [`  owner: ${v.owner}${v.why ? ` (${v.why})` : ''}`] : []),
    ...(v.next ? [`  next: ${v.next}`] : []),
  ];
}

/** Plain text, one block per chain, wrapped to `width` columns. */
export function renderDnsChainText(chains: readonly DnsChain[], width = 100): string {
  const blocks = chains.map((chain) => {
    const lines = wrap(`DNS chain for ${sourceTitle(chain)}${chain.source.probe ? ` — probe ${chain.source.probe}` : ''}`, width, '  ', '');
    chain.links.forEach((link, i) => {
      lines.push(...wrap(`${i + 1}. ${link.title}: ${MARK[link.status]}`, width, '     ', '  '));
      for (const e of link.evidence) lines.push(...wrap(e, width, '         ', '       '));
    });
    for (const [i, v] of verdictLines(chain).entries()) lines.push(...wrap(v.trim(), width, '    ', i === 0 ? '' : '  '));
    return lines.join('\n');
  });
  return `${blocks.join('\n\n')}\n`;
}

const escapeCell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** Markdown, one section per chain: a table of the links, then the verdict. */
export function renderDnsChainMarkdown(chains: readonly DnsChain[], heading = '###'): string {
  const blocks = chains.map((chain) => {
    const v = chain.verdict;
    const lines = [
      `${heading} DNS chain for ${escapeCell(sourceTitle(chain))}`,
      '',
      '| # | Link | Status | Evidence |',
      '|---|------|--------|----------|',
      ...chain.links.map((l, i) => `| ${i + 1} | ${escapeCell(l.title)} | ${l.status === 'broken' ? '**broken**' : MARK[l.status]} | ${l.evidence.map(escapeCell).join('<br>')} |`),
      '',
      `**Verdict${v.status === 'broken' ? ` (broken at ${v.link})` : v.status === 'undecided' ? ' (undecided)' : ' (healthy)'}:** ${v.text}`,
      ...(v.owner ? ['', `**Owner:** ${v.owner}${v.why ? ` (${v.why})` : ''}`] : []),
      ...(v.next ? ['', `**Next:** \`${v.next}\``] : []),
    ];
    return lines.join('\n');
  });
  return `${blocks.join('\n\n')}\n`;
}

export function renderDnsChainJson(chains: readonly DnsChain[]): string {
  return `${JSON.stringify({ kind: 'DnsChainReport', chains }, null, 2)}\n`;
}
