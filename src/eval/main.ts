// node out/src/eval/main.js --pack packs/default [--dataset workspace-test,squad-notre-dame|file.json]
//   [--quick] [--out docs/results] [--tag eval] [--max-docs N] [--max-questions N]
//   [--variants cmt,rag_in_context,...] [--top-k K] [--alpha A] [--max-new-tokens N] [--beams B]
//   [--big-k K] [--no-curves] [--curve-dataset D] [--curve-docs N] [--retention-steps 20,50,100]
//   [--curve-questions N] [--noise 0,0.25,0.5,0.75,1] [--device cpu]
// node out/src/eval/main.js --retrieval-only --pack DIR [--dataset ...] [--candidates 50] [--fit]
//   [--embedder-cost] [--fusion key,emb,text,k] [--no-write]: recall@1/@5 + MRR per retriever and fused (retrieval.ts)
import { num, nums, parseArgs, str, strs } from './args';
import { runEval, Variant, VARIANTS } from './index';
import { runRetrievalEval } from './retrieval';
import type { Device } from '../core/types';

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  if (a.help || !a.pack) {
    process.stderr.write('usage: node out/src/eval/main.js --pack DIR [--dataset workspace-test,squad-notre-dame|FILE.json] [--quick] [--out DIR] [--tag NAME] ...\n');
    process.exitCode = a.help ? 0 : 2;
    return;
  }
  if (a['retrieval-only']) {
    // cmt eval --retrieval-only --pack DIR [--dataset ...] [--candidates 50] [--fit] [--embedder-cost] [--fusion key,emb,text,k]
    const fz = nums(a, 'fusion');
    const r = await runRetrievalEval({
      pack: String(a.pack),
      datasets: strs(a, 'dataset') ?? ['workspace-test', 'squad-notre-dame'],
      candidates: num(a, 'candidates'),
      maxDocs: num(a, 'max-docs'),
      maxQuestions: num(a, 'max-questions'),
      fit: !!a.fit,
      measureEmbedderCost: !!a['embedder-cost'],
      fusion: fz ? { key: fz[0], emb: fz[1], text: fz[2], rrfK: fz[3] ?? 60 } : undefined,
      outDir: str(a, 'out'),
      tag: str(a, 'tag'),
      write: !a['no-write'],
      device: (str(a, 'device') as Device | undefined) ?? 'cpu',
      command: 'cmt eval ' + process.argv.slice(2).join(' '),
    });
    const f = r.fusion;
    process.stdout.write(`fusion: key ${f.key} emb ${f.emb} text ${f.text} k ${f.rrfK}\n`);
    for (const run of r.runs) {
      process.stdout.write(`${run.dataset}: ${run.documents} docs, ${run.chunks} chunks, ${run.questions} questions; memorize ${(run.memorizeMs / 1000).toFixed(1)} s (embedder ${(run.embedderMs / 1000).toFixed(1)} s${run.memorizeNoEmbedderMs ? `; without embedder ${(run.memorizeNoEmbedderMs / 1000).toFixed(1)} s` : ''})\n`);
      for (const [k, x] of Object.entries(run.retrievers)) process.stdout.write(`  ${k.padEnd(7)} recall@1 ${x!.recall1}  recall@5 ${x!.recall5}  MRR ${x!.mrr}\n`);
    }
    if (r.fit) process.stdout.write(`pack.json "retrieval": ${JSON.stringify({ weights: r.fit.retrieval.weights, rrfK: r.fit.retrieval.rrfK })}\n`);
    if (r.files.length) process.stdout.write(`wrote ${r.files.join(', ')} in ${(r.wallMs / 1000).toFixed(1)} s\n`);
    return;
  }
  const variants = strs(a, 'variants') as Variant[] | undefined;
  for (const v of variants ?? []) if (!VARIANTS.includes(v)) throw new Error(`unknown variant ${v}; one of ${VARIANTS.join(', ')}`);
  const r = await runEval({
    pack: String(a.pack),
    datasets: strs(a, 'dataset'),
    outDir: str(a, 'out'),
    tag: str(a, 'tag'),
    quick: !!a.quick,
    maxDocs: num(a, 'max-docs'),
    maxQuestions: num(a, 'max-questions'),
    variants,
    topK: num(a, 'top-k'),
    alpha: num(a, 'alpha'),
    maxNewTokens: num(a, 'max-new-tokens'),
    numBeams: num(a, 'beams'),
    bigK: num(a, 'big-k'),
    curves: !a['no-curves'],
    curveDataset: str(a, 'curve-dataset'),
    curveDocs: num(a, 'curve-docs'),
    retentionSteps: nums(a, 'retention-steps'),
    curveQuestions: num(a, 'curve-questions'),
    noiseFractions: nums(a, 'noise'),
    device: (str(a, 'device') as Device | undefined) ?? 'cpu',
    command: 'node out/src/eval/main.js ' + process.argv.slice(2).join(' '),
  });
  for (const run of r.runs) {
    process.stdout.write(`${run.dataset}: ${run.documents} docs, ${run.questions} questions\n`);
    for (const [v, x] of Object.entries(run.variants)) process.stdout.write(`  ${v.padEnd(22)} EM ${x!.em}  prefixEM ${x!.prefixEm}  F1 ${x!.f1}  p50 ${x!.latencyMs.p50} ms\n`);
    process.stdout.write(`  recall@1/5 vector ${run.retrieval.vector.recall1}/${run.retrieval.vector.recall5} text ${run.retrieval.text.recall1}/${run.retrieval.text.recall5} hybrid ${run.retrieval.hybrid.recall1}/${run.retrieval.hybrid.recall5}\n`);
  }
  process.stdout.write(`wrote ${r.files.join(', ')} in ${(r.wallMs / 1000).toFixed(1)} s\n`);
}

main().catch((e) => {
  process.stderr.write(`cmt eval: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
