// The text an agent's model reads for a search, an answer or a memorize: used by the MCP tools
// (tools.ts) and the editor's language-model tools (src/extension/agents.ts), so both say the same.
// Pure: no node, no zod.
import type { AskResponse, MemorizeSummary, SearchResult } from '../core/types';

function lines(n: { startLine: number; endLine: number }): string {
  return n.startLine === n.endLine ? `${n.startLine}` : `${n.startLine}-${n.endLine}`;
}

export function searchText(r: SearchResult & { query: string }): string {
  if (r.hits.length === 0) return `No memorized chunk matches ${JSON.stringify(r.query)}.`;
  const out = [`${r.hits.length} chunk(s) for ${JSON.stringify(r.query)}, best first:`];
  for (const h of r.hits) {
    out.push('', `${h.path}:${lines(h)}${h.symbol ? ` (${h.symbol})` : ''}  score ${h.score.toFixed(4)}`, '```', h.text.replace(/```/g, '`\u200b``'), '```');
  }
  return out.join('\n');
}

export function askText(r: AskResponse): string {
  const g = r.grounding;
  const out = [g.noAnswer ? 'Answer: none (the model produced no usable answer; read the lines below).' : `Answer: ${r.answer || '(empty)'}`];
  out.push(g.verdict === 'found' ? 'Verdict: found in source.' : `Verdict: ${g.message}`);
  if (g.quotes.length) {
    out.push(g.verdict === 'found' ? 'The line that holds it:' : 'Most relevant lines:');
    for (const q of g.quotes) out.push(`  ${q.path}:${q.line}  ${q.text}`);
  }
  if (r.citations.length) {
    out.push('Sources:');
    for (const c of r.citations) out.push(`  ${c.path}:${lines(c)}  score ${c.score.toFixed(4)}`);
  }
  return out.join('\n');
}

/** A memorize's summary, with the reasons of the files it left out. */
export function memorizeText(s: MemorizeSummary): string {
  const out = [
    `Memorized ${s.memorized} file(s) (${s.chunks} chunk(s)), ${s.unchanged} unchanged, ${s.skipped.length} skipped, ${s.failed.length} failed` +
      `${s.removed ? `, ${s.removed} removed (gone from a memorized folder)` : ''} in ${(s.elapsedMs / 1000).toFixed(1)} s.`,
  ];
  if (s.memorized + s.unchanged === 0) out.push('Nothing was memorized: no readable text file among the given paths (see the reasons below).');
  for (const i of s.skipped.slice(0, 20)) out.push(`  skipped ${i.path}: ${i.reason}`);
  if (s.skipped.length > 20) out.push(`  … and ${s.skipped.length - 20} more skipped (all in structuredContent.skipped)`);
  for (const i of s.failed) out.push(`  failed ${i.path}: ${i.reason}`);
  return out.join('\n');
}
