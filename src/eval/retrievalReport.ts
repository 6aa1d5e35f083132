// The report of `cmt eval --retrieval-only`: markdown (per dataset; real projects per project, per
// kind, data errors) and the console summary.
import { RETRIEVERS } from '../core/match';
import { round } from '../measure/stats';
import { mdTable } from '../measure/svg';
import { BASE, LineScores, RealRun, RetrievalReport, RetrievalRun, Scored, Scores } from './retrievalTypes';

const LABEL: Record<string, string> = {
  text: 'BM25 (code-aware terms)',
  emb: 'sentence embedder (MiniLM cosine)',
  key: 'CMT self-matching keys',
  def: 'definition index (names the question mentions)',
  path: 'files the question names',
  rrf: 'plain RRF of keys + BM25 (before)',
  fusion: 'calibrated fusion',
};

export function retrievalMarkdown(r: RetrievalReport): string {
  const out: string[] = [];
  out.push(`# Retrieval — pack \`${r.pack.name}\` (${r.pack.packId}), embedder: ${r.pack.embedder ?? 'none'}\n`);
  out.push(`Command: \`${r.command}\`  \nDate: ${r.date}  \nMachine: ${r.machine.cpu}, ${r.machine.cores} cores\n`);
  out.push(`Fusion: weighted RRF, weights key ${r.fusion.key}, emb ${r.fusion.emb}, text ${r.fusion.text}${RETRIEVERS.filter((x) => !BASE.includes(x) && (r.fusion[x] ?? 0) > 0).map((x) => `, ${x} ${r.fusion[x]}`).join('')}, k ${r.fusion.rrfK}, BM25 gate ${r.fusion.textGate ? r.fusion.textGate : 'off'}${r.fit ? ' (fitted on these datasets by --fit)' : ''}\n`);
  for (const run of r.runs) {
    if (run.real) {
      out.push(...realMarkdown(run, run.real));
      continue;
    }
    const cost = run.memorizeNoEmbedderMs ? `, without the embedder ${(run.memorizeNoEmbedderMs / 1000).toFixed(1)} s (+${round((100 * (run.memorizeMs - run.memorizeNoEmbedderMs)) / run.memorizeNoEmbedderMs, 1)}%)` : '';
    out.push(`## ${run.dataset}: ${run.documents} documents (${run.chunks} chunks), ${run.questions} questions\n`);
    out.push(`Memorize ${(run.memorizeMs / 1000).toFixed(1)} s (embedder ${(run.embedderMs / 1000).toFixed(1)} s)${cost}; per question (compress + embed + 3 searches) p50 ${run.questionMs.p50} ms, p95 ${run.questionMs.p95} ms.\n`);
    out.push(mdTable(['retriever', 'recall@1', 'recall@5', 'MRR'], Object.entries(run.retrievers).map(([k, s]) => [LABEL[k] ?? k, s.recall1, s.recall5, s.mrr])));
    out.push('');
  }
  return out.join('\n');
}

const RANKERS: Scored[] = [...BASE, ...RETRIEVERS.filter((r) => !BASE.includes(r)), 'rrf', 'fusion'];
const SHORT: Record<string, string> = { text: 'BM25', emb: 'emb', key: 'key', rrf: 'RRF (before)', fusion: 'fusion' };

/** A real-project run: memorize per project, file/line scores per ranker, per project, per kind, data errors. */
function realMarkdown(run: RetrievalRun, real: RealRun): string[] {
  const out: string[] = [];
  const mb = real.projects.reduce((a, p) => a + p.memorize.sourceBytes, 0) / 1e6;
  const errs = real.dataErrors.length;
  out.push(`## ${run.dataset}: ${real.projects.length} projects memorized whole, ${run.documents} files (${mb.toFixed(2)} MB, ${run.chunks} chunks), ${run.questions} questions scored
`);
  out.push(
    `Each project is memorized as a user would (its tree, its .gitignore, the default exclusions) into a fresh bank. ` +
      `File level: the ranked chunks reduced to distinct files (first occurrence), recall@1/@5 and MRR of the gold file. ` +
      `Line level: hit@k = one of the top k chunks (before the file dedup) is of the gold file and its lines contain the gold lines entirely. ` +
      `Per question (compress + embed + searches) p50 ${run.questionMs.p50} ms, p95 ${run.questionMs.p95} ms.` +
      (errs ? ` ${errs} question(s) whose gold file was not memorized are data errors, excluded from every score (listed below).` : ' No data errors (every gold file was memorized).') +
      (real.withoutQuestions.length ? ` Left out (no question file yet): ${real.withoutQuestions.join(', ')}.` : '') +
      '\n',
  );
  out.push('### Memorize\n');
  out.push(
    mdTable(
      ['project', 'files memorized', 'skipped (by reason)', 'failed', 'chunks', 'seconds', 'source MB', 's per MB', 'embedder s', 'questions', 'data errors'],
      real.projects.map((p) => {
        const m = p.memorize;
        const sk = Object.entries(m.skipped).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ') || '—';
        return [p.project, m.files, sk, m.failed, m.chunks, round(m.wallMs / 1000, 1), round(m.sourceBytes / 1e6, 3), m.secondsPerMB, round(m.embedderMs / 1000, 1), p.questions, p.dataErrors];
      }),
    ),
  );
  out.push('### Retrieval over the split (micro average over questions, %; MRR over the top candidates)\n');
  const rankers = RANKERS.filter((k) => run.retrievers[k]);
  out.push(
    mdTable(
      ['retriever', 'file recall@1', 'file recall@5', 'file MRR', 'line hit@1', 'line hit@5'],
      rankers.map((k) => [LABEL[k] ?? k, run.retrievers[k]!.recall1, run.retrievers[k]!.recall5, run.retrievers[k]!.mrr, real.lines[k]?.hit1 ?? '—', real.lines[k]?.hit5 ?? '—']),
    ),
  );
  out.push('### Per project: file recall@1 / file recall@5 / line hit@5 (%)\n');
  const cell = (s?: Scores, l?: LineScores) => (s ? `${s.recall1} / ${s.recall5} / ${l?.hit5 ?? '—'}` : '—');
  out.push(
    mdTable(
      ['project', 'questions', 'memorize s', ...rankers.map((k) => SHORT[k] ?? k)],
      [
        ...real.projects.map((p) => [p.project, p.questions, round(p.memorize.wallMs / 1000, 1), ...rankers.map((k) => cell(p.retrievers[k], p.lines[k]))]),
        [`**all (${run.dataset})**`, run.questions, round(run.memorizeMs / 1000, 1), ...rankers.map((k) => cell(run.retrievers[k], real.lines[k]))],
      ],
    ),
  );
  out.push('### Per question kind (fusion, %)\n');
  out.push(mdTable(['kind', 'questions', 'file recall@1', 'file recall@5', 'line hit@5'], Object.entries(real.byKind).map(([k, x]) => [k, x.questions, x.fileRecall1, x.fileRecall5, x.lineHit5])));
  if (errs) {
    out.push(`### Data errors: ${errs} question(s) whose gold file was not memorized (excluded from the scores)\n`);
    out.push(mdTable(['project', 'question', 'gold file', 'why'], real.dataErrors.map((d) => [d.project, d.id, `\`${d.file}\``, d.reason])));
  }
  out.push('');
  return out;
}

/** The console summary of a run: the fusion, per dataset its memorize time and scores, the fitted section. */
export function retrievalConsole(r: RetrievalReport): string {
  const out: string[] = [];
  const f = r.fusion;
  out.push(`fusion: key ${f.key} emb ${f.emb} text ${f.text} k ${f.rrfK} gate ${f.textGate ?? 0}\n`);
  for (const run of r.runs) {
    out.push(`${run.dataset}: ${run.documents} docs, ${run.chunks} chunks, ${run.questions} questions; memorize ${(run.memorizeMs / 1000).toFixed(1)} s (embedder ${(run.embedderMs / 1000).toFixed(1)} s${run.memorizeNoEmbedderMs ? `; without embedder ${(run.memorizeNoEmbedderMs / 1000).toFixed(1)} s` : ''})\n`);
    const lines = run.real?.lines;
    for (const [k, x] of Object.entries(run.retrievers)) {
      const l = lines?.[k as keyof typeof lines];
      out.push(`  ${k.padEnd(7)} ${run.real ? 'file ' : ''}recall@1 ${x.recall1}  recall@5 ${x.recall5}  MRR ${x.mrr}${l ? `  line hit@1 ${l.hit1}  hit@5 ${l.hit5}` : ''}\n`);
    }
    if (run.real) out.push(realConsole(run.real));
  }
  if (r.fit) out.push(`pack.json "retrieval": ${JSON.stringify({ weights: r.fit.retrieval.weights, rrfK: r.fit.retrieval.rrfK, textGate: r.fit.retrieval.textGate })}\n`);
  return out.join('');
}

function realConsole(real: RealRun): string {
  const out: string[] = [];
  for (const p of real.projects) {
    const f = p.retrievers.fusion;
    out.push(`  ${p.project}: ${p.memorize.files} files, ${p.memorize.chunks} chunks, memorize ${(p.memorize.wallMs / 1000).toFixed(1)} s (${p.memorize.secondsPerMB} s/MB); ${p.questions} questions, fusion file recall@1 ${f?.recall1} @5 ${f?.recall5}, line hit@5 ${p.lines.fusion?.hit5}\n`);
  }
  for (const [k, x] of Object.entries(real.byKind)) out.push(`  kind ${k}: ${x.questions} questions, fusion file recall@1 ${x.fileRecall1} @5 ${x.fileRecall5}, line hit@5 ${x.lineHit5}\n`);
  if (real.dataErrors.length) out.push(`  ${real.dataErrors.length} data errors (gold file not memorized, excluded): ${real.dataErrors.map((d) => `${d.project}/${d.id} ${d.file} (${d.reason})`).join('; ')}\n`);
  return out.join('');
}
