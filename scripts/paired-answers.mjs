// Paired comparison of two `cmt eval` runs on the same questions (two packs, two variants): which questions
// each got right (the eval's own rule: F1 >= 0.5 or the gold answer contained whole) and McNemar's exact
// test on the questions where they differ. Needs the reports' examples (`--examples N` >= the questions).
//   node scripts/paired-answers.mjs A.json:VARIANT B.json:VARIANT [--list]
// (after `npx tsc -p .`, which compiles src/measure/metrics.ts to out/)
import fs from 'node:fs';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { f1Score, containsAnswer, isCorrect } = require('../out/src/measure/metrics.js');

const [a, b] = process.argv.slice(2).filter((x) => !x.startsWith('--'));
if (!a || !b) {
  console.error('usage: node scripts/paired-answers.mjs A.json:VARIANT B.json:VARIANT [--list]');
  process.exit(2);
}
function load(spec) {
  const i = spec.lastIndexOf(':');
  const [file, variant] = [spec.slice(0, i), spec.slice(i + 1)];
  const byQ = new Map();
  for (const run of JSON.parse(fs.readFileSync(file, 'utf8')).runs) {
    for (const e of run.examples ?? []) {
      const pred = e.preds?.[variant];
      if (pred === undefined) continue;
      byQ.set(`${run.dataset}\u0000${e.question}`, { pred, right: isCorrect({ f1: f1Score(pred, e.answers), contains: containsAnswer(pred, e.answers) }) });
    }
  }
  if (byQ.size === 0) throw new Error(`${file} has no examples of variant ${variant}`);
  return byQ;
}
const A = load(a), B = load(b);
const both = [...A.keys()].filter((q) => B.has(q));
let rightA = 0, rightB = 0, onlyA = 0, onlyB = 0, same = 0;
const diffs = [];
for (const q of both) {
  const x = A.get(q), y = B.get(q);
  rightA += x.right; rightB += y.right; same += x.pred === y.pred;
  if (x.right && !y.right) onlyA++;
  if (!x.right && y.right) onlyB++;
  if (x.right !== y.right) diffs.push([q.split('\u0000')[1], x, y]);
}
// McNemar's exact test: under "no difference" each discordant question is a fair coin.
const n = onlyA + onlyB, k = Math.min(onlyA, onlyB);
let tail = 0;
for (let i = 0, c = 1; i <= k; i++, c = (c * (n - i + 1)) / i) tail += (i === 0 ? 1 : c) / 2 ** n;
const p = n === 0 ? 1 : Math.min(1, 2 * tail);
const pct = (x) => ((100 * x) / both.length).toFixed(2);
console.log(`${both.length} questions in both; identical answers ${same}`);
console.log(`right: A ${rightA} (${pct(rightA)} %), B ${rightB} (${pct(rightB)} %)`);
console.log(`right only in A: ${onlyA}; only in B: ${onlyB}; McNemar exact two-sided p = ${p.toFixed(3)}`);
if (process.argv.includes('--list')) for (const [q, x, y] of diffs) console.log(`- ${q}\n  A ${x.right ? 'right' : 'wrong'}: ${JSON.stringify(x.pred)}\n  B ${y.right ? 'right' : 'wrong'}: ${JSON.stringify(y.pred)}`);
