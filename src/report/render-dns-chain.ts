/**
 * The DNS chain in words: each link with its status and evidence, then the verdict (broken link, owner, next
 * command). Plain text for terminals (`netcheck dns`, and after a run's table), Markdown for CI summaries. Chains
 * with the same verdict are printed once, naming the sources and nodes that share it; a link whose evidence differs
 * between them (another namespace's policies, a node's lookups timing out where another's are refused) is shown per
 * source and node. Pure.
 */
import type { DnsChain, DnsLink, LinkStatus } from '../model/dns-chain.js';
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

/** Chains with one verdict, in first-seen order. */
export function groupChains(chains: readonly DnsChain[]): DnsChain[][] {
  const groups = new Map<string, DnsChain[]>();
  for (const chain of chains) {
    const v = chain.verdict;
    const key = JSON.stringify([v.status, v.link, v.text, v.owner, v.why, v.next]);
    groups.set(key, [...(groups.get(key) ?? []), chain]);
  }
  return [...groups.values()];
}

/** "serving on node-a" — the source's scenario names (or namespace) and node. */
function who(chain: DnsChain): string {
  return `${chain.source.description ?? chain.source.namespace}${chain.source.node ? ` on ${chain.source.node}` : ''}`;
}

/**
 * The n-th link of each chain of a group, as its distinct versions, each with the chains that saw it (one version:
 * every chain saw the same).
 */
function linkVersions(group: readonly DnsChain[], index: number): Array<{ link: DnsLink; seenBy: DnsChain[] }> {
  const versions = new Map<string, { link: DnsLink; seenBy: DnsChain[] }>();
  for (const chain of group) {
    const link = chain.links[index];
    if (link === undefined) continue;
    const key = JSON.stringify([link.title, link.status, link.evidence]);
    const version = versions.get(key) ?? { link, seenBy: [] };
    version.seenBy.push(chain);
    versions.set(key, version);
  }
  return [...versions.values()];
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

/** Plain text, one block per verdict (the chains sharing it listed at its head), wrapped to `width` columns. */
export function renderDnsChainText(chains: readonly DnsChain[], width = 100): string {
  const blocks = groupChains(chains).map((group) => {
    const chain = group[0] as DnsChain;
    const lines =
      group.length === 1
        ? wrap(`DNS chain for ${sourceTitle(chain)}${chain.source.probe ? ` — probe ${chain.source.probe}` : ''}`, width, '  ', '')
        : [
            `DNS chain shared by ${group.length} sources (one verdict; a link they saw differently is shown per source and node):`,
            ...group.flatMap((c) => wrap(`- ${sourceTitle(c)}${c.source.probe ? ` — probe ${c.source.probe}` : ''}`, width, '      ', '    ')),
          ];
    const longest = Math.max(...group.map((c) => c.links.length));
    for (let i = 0; i < longest; i++) {
      const versions = linkVersions(group, i);
      for (const { link, seenBy } of versions) {
        const from = versions.length > 1 ? ` — from ${seenBy.map(who).join('; ')}` : '';
        lines.push(...wrap(`${i + 1}. ${link.title}: ${MARK[link.status]}${from}`, width, '     ', '  '));
        for (const e of link.evidence) lines.push(...wrap(e, width, '         ', '       '));
      }
    }
    for (const [i, v] of verdictLines(chain).entries()) lines.push(...wrap(v.trim(), width, '    ', i === 0 ? '' : '  '));
    return lines.join('\n');
  });
  return `${blocks.join('\n\n')}\n`;
}

const escapeCell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** Markdown, one section per verdict (the chains sharing it named in its heading): a table of the links, then the verdict. */
export function renderDnsChainMarkdown(chains: readonly DnsChain[], heading = '###'): string {
  const blocks = groupChains(chains).map((group) => {
    const chain = group[0] as DnsChain;
    const v = chain.verdict;
    const rows: string[] = [];
    const longest = Math.max(...group.map((c) => c.links.length));
    for (let i = 0; i < longest; i++) {
      const versions = linkVersions(group, i);
      for (const { link: l, seenBy } of versions) {
        const from = versions.length > 1 ? ` (from ${seenBy.map(who).join('; ')})` : '';
        rows.push(`| ${i + 1} | ${escapeCell(l.title + from)} | ${l.status === 'broken' ? '**broken**' : MARK[l.status]} | ${l.evidence.map(escapeCell).join('<br>')} |`);
      }
    }
    const title = group.length === 1 ? sourceTitle(chain) : `${group.length} sources (one verdict): ${group.map(sourceTitle).join('; ')}`;
    const lines = [
      `${heading} DNS chain for ${escapeCell(title)}`,
      '',
      '| # | Link | Status | Evidence |',
      '|---|------|--------|----------|',
      ...rows,
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
