// The real-project benchmark in `cmt eval`: the loader (src/measure/realRepos.ts), the file/line
// scoring, and the retrieval-only run on a small workspace memorized whole (tiny pack, no network);
// plus a CI smoke test on real:express with packs/default (fetched when missing, unless CMT_OFFLINE=1).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  checkGold,
  distinctFiles,
  fileRank,
  isRealSpec,
  lineRank,
  loadRealDataset,
  MemorizedWorkspace,
  RealProject,
  RealQuestion,
  sampleRealQuestions,
} from '../../src/measure/realRepos';
import { runEval } from '../../src/eval/index';
import { evalMarkdown } from '../../src/eval/report';
import { runRetrievalEval } from '../../src/eval/retrieval';
import { prepare, preparedRank } from '../../src/eval/retrievalFit';
import { retrievalMarkdown } from '../../src/eval/retrievalReport';
import { fileScoresOf, fusedRank, lineScoresOf } from '../../src/eval/retrievalScore';
import type { Hit, QLists } from '../../src/eval/retrievalTypes';
import { fileWriter } from '../helpers';

const REPO = path.resolve(__dirname, '..', '..', '..');
const TINY = path.join(REPO, 'test', 'fixtures', 'tiny-pack');
const DEFAULT_PACK = path.join(REPO, 'packs', 'default');

const h = (p: string, a: number, b: number): Hit => ({ id: `${p}#${a}-${b}`, path: p, startLine: a, endLine: b });

test('real dataset specs', () => {
  for (const s of ['real-train', 'real-dev', 'real-test', 'real:express', 'real:my-proj_2.x']) assert.ok(isRealSpec(s), s);
  for (const s of ['real', 'real-foo', 'real:', 'workspace-dev', 'real:a/b']) assert.ok(!isRealSpec(s), s);
});

test('file level: ranked chunks reduced to distinct files (first occurrence); line level: a chunk of the gold file containing the gold lines', () => {
  const recs = [h('a.py', 1, 20), h('a.py', 21, 40), h('b.md', 1, 10), h('a.py', 41, 60), h('c.json', 1, 5), h('b.md', 11, 30), h('d.py', 1, 9), h('e.py', 1, 9), h('f.py', 1, 9)];
  assert.deepEqual(distinctFiles(recs), ['a.py', 'b.md', 'c.json', 'd.py', 'e.py', 'f.py']);
  assert.equal(fileRank(recs, 'a.py'), 1);
  assert.equal(fileRank(recs, 'b.md'), 2); // chunk rank 3, file rank 2
  assert.equal(fileRank(recs, 'f.py'), 6); // chunk rank 9, file rank 6
  assert.equal(fileRank(recs, 'zzz'), 0);
  // lines: containment is entire, on chunks before the dedup
  assert.equal(lineRank(recs, 'a.py', [22, 30]), 2);
  assert.equal(lineRank(recs, 'a.py', [21, 40]), 2);
  assert.equal(lineRank(recs, 'a.py', [19, 22]), 0, 'spans two chunks: no single chunk contains it');
  assert.equal(lineRank(recs, 'b.md', [12, 12]), 6);
  assert.equal(lineRank(recs, 'c.json', [1, 6]), 0);
  assert.equal(lineRank([{ path: 'a.py' }], 'a.py', [1, 1]), 0, 'a hit without lines never contains them');
  // scores over questions: recall@1/@5, MRR at file level; hit@1/@5 at line level
  const items = [
    { recs, gold: 'a.py', lines: [22, 30] as [number, number] }, // file 1, line 2
    { recs, gold: 'b.md', lines: [12, 12] as [number, number] }, // file 2, line 6
    { recs, gold: 'f.py', lines: [1, 9] as [number, number] }, // file 6, line 9
    { recs, gold: 'zzz', lines: [1, 1] as [number, number] }, // absent
  ];
  assert.deepEqual(fileScoresOf(items), { recall1: 25, recall5: 50, mrr: Math.round(((1 + 1 / 2 + 1 / 6) / 4) * 1e4) / 1e4 });
  assert.deepEqual(lineScoresOf(items), { hit1: 0, hit5: 25 });
  assert.deepEqual(lineScoresOf([{ recs, gold: 'a.py', lines: [1, 20] }]), { hit1: 100, hit5: 100 });
});

test('questions sampled deterministically, spread over projects and within a project', () => {
  const mk = (name: string, n: number): RealProject => ({
    name,
    split: 'dev',
    workspace: '/x',
    questionFiles: [],
    questions: Array.from({ length: n }, (_, i): RealQuestion => ({ id: `${name}${i}`, project: name, question: 'q', answers: ['a'], file: 'f', lines: [1, 1], kind: 'k' })),
  });
  const ps = [mk('a', 10), mk('b', 2), mk('c', 6)];
  const s = sampleRealQuestions(ps, 8);
  assert.deepEqual(s.get('a')!.map((q) => q.id), ['a0', 'a3', 'a6']);
  assert.deepEqual(s.get('b')!.map((q) => q.id), ['b0', 'b1']);
  assert.deepEqual(s.get('c')!.map((q) => q.id), ['c0', 'c2', 'c4']);
  assert.deepEqual(sampleRealQuestions(ps, 8), s);
  assert.equal(sampleRealQuestions(ps).get('a')!.length, 10);
});

test('gold files not memorized are data errors, with the reason', () => {
  const p: RealProject = { name: 'p', split: 'dev', workspace: '/nonexistent', questionFiles: [], questions: [] };
  const q = (id: string, file: string): RealQuestion => ({ id, project: 'p', question: 'q', answers: ['a'], file, lines: [1, 1], kind: 'code' });
  const m: MemorizedWorkspace = {
    summary: { project: 'p', files: 1, skipped: {}, failed: 0, chunks: 1, wallMs: 1, sourceBytes: 1, secondsPerMB: 1, compressorMs: 0, embedderMs: 0 },
    memorized: new Set(['src/a.py']),
    skipped: [
      { path: 'notes.md', reason: 'ignored by .gitignore', code: 'gitignored' },
      { path: 'dist/', reason: 'excluded (default or exclude rules)', code: 'excluded' },
    ],
    failed: [],
  };
  const { ok, errors } = checkGold(p, [q('1', 'src/a.py'), q('2', 'notes.md'), q('3', 'dist/x.js'), q('4', 'gone.py')], m);
  assert.deepEqual(ok.map((x) => x.id), ['1']);
  assert.deepEqual(errors.map((e) => [e.id, e.reason]), [
    ['2', 'skipped: ignored by .gitignore'],
    ['3', 'skipped: excluded (default or exclude rules) (folder dist/)'],
    ['4', 'not in the workspace'],
  ]);
});

/** A small project: .py/.md/.json files, a .gitignore that ignores one file, a package-lock.json (excluded by default). */
function makeProject(root: string): { projectsFile: string; wsDir: string; questionsDir: string } {
  const ws = path.join(root, 'ws', 'demo');
  const w = fileWriter(ws);
  w('.gitignore', 'scratch_notes.md\n');
  w('scratch_notes.md', '# Notes\n\nThe quuxbarrel password rotation happens weekly.\n');
  w('package-lock.json', JSON.stringify({ name: 'demo', lockfileVersion: 3, packages: { '': { name: 'demo', version: '1.0.0' } } }, null, 2) + '\n');
  w('config.json', JSON.stringify({ server: { port: 8431, host: 'localhost' }, zorblattTimeout: 45, retries: 3 }, null, 2) + '\n');
  w(
    'src/frobnicate.py',
    [
      '"""Frobnication helpers."""',
      '',
      '',
      'def frobnicate_widget(widget, level=7):',
      '    """Frobnicate a widget up to the given level."""',
      '    for _ in range(level):',
      '        widget = widget.twist()',
      '    return widget',
      '',
      '',
      'def defrobnicate(widget):',
      '    return widget.untwist()',
      '',
    ].join('\n'),
  );
  w('src/storage.py', ['import os', '', 'CACHE_DIR = os.environ.get("DEMO_CACHE", "/var/cache/demo")', '', '', 'def cache_path(name):', '    return os.path.join(CACHE_DIR, name)', ''].join('\n'));
  w('README.md', ['# Demo', '', 'Install with `pip install demo-widgets`.', '', '## Usage', '', 'Call the frobnicator from the command line.', ''].join('\n'));
  w('docs/deploy.md', ['# Deploying', '', 'Run the glorptastic migration before every deploy.', '', 'Then restart the workers.', ''].join('\n'));
  const projectsFile = path.join(root, 'projects.json');
  fs.writeFileSync(projectsFile, JSON.stringify({ projects: [{ name: 'demo', split: 'dev' }, { name: 'other', split: 'dev' }] }));
  const questionsDir = path.join(root, 'questions');
  fs.mkdirSync(questionsDir);
  const q = (id: string, question: string, answers: string[], file: string, lines: [number, number], kind: string) => ({ id, question, answers, file, lines, kind });
  fs.writeFileSync(
    path.join(questionsDir, 'demo.json'),
    JSON.stringify({
      project: 'demo',
      questions: [
        q('c1', 'What is the zorblattTimeout?', ['45'], 'config.json', [7, 7], 'config'),
        q('k1', 'What is the default level of frobnicate_widget?', ['7'], 'src/frobnicate.py', [4, 4], 'code'),
        q('k2', 'Where is the DEMO_CACHE directory by default?', ['/var/cache/demo'], 'src/storage.py', [3, 3], 'code'),
        q('d1', 'Which glorptastic migration runs before a deploy?', ['glorptastic migration'], 'docs/deploy.md', [3, 3], 'docs'),
        // gold lines past the end of the file: found at file level, never at line level
        q('d2', 'How do I install demo-widgets with pip?', ['pip install demo-widgets'], 'README.md', [300, 301], 'docs'),
        // data errors: gitignored, excluded by default
        q('e1', 'How often does the quuxbarrel password rotate?', ['weekly'], 'scratch_notes.md', [3, 3], 'docs'),
        q('e2', 'Which lockfileVersion does the lock file use?', ['3'], 'package-lock.json', [3, 3], 'config'),
      ],
    }),
  );
  fs.writeFileSync(path.join(questionsDir, 'demo.hand.json'), JSON.stringify({ project: 'demo', questions: [q('h1', 'What does defrobnicate call on the widget?', ['untwist'], 'src/frobnicate.py', [11, 12], 'hand')] }));
  return { projectsFile, wsDir: path.join(root, 'ws'), questionsDir };
}

test('loader: questions of <name>.json and <name>.hand.json; a missing workspace names the fetch command', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cmt-real-'));
  try {
    const src = makeProject(root);
    const ds = loadRealDataset('real:demo', REPO, src);
    assert.equal(ds.projects.length, 1);
    assert.equal(ds.projects[0].questions.length, 8);
    assert.deepEqual(ds.projects[0].questions.map((x) => x.kind).filter((k, i, a) => a.indexOf(k) === i), ['config', 'code', 'docs', 'hand']);
    // the split: 'other' has no question file yet: left out, and said so
    const dev = loadRealDataset('real-dev', REPO, src);
    assert.deepEqual(dev.withoutQuestions, ['other']);
    fs.writeFileSync(path.join(src.questionsDir, 'other.json'), JSON.stringify({ project: 'other', questions: [] }));
    assert.throws(() => loadRealDataset('real-dev', REPO, src), /workspace of other not found.*python3 benchmarks\/real\/fetch\.py --split dev.*--fetch/);
    assert.throws(() => loadRealDataset('real:other', REPO, src), /python3 benchmarks\/real\/fetch\.py other/);
    assert.throws(() => loadRealDataset('real:nope', REPO, src), /no project "nope"/);
    fs.writeFileSync(path.join(src.questionsDir, 'other.json'), JSON.stringify({ project: 'other', questions: [{ question: 'q', answers: ['a'], file: 'x', lines: [3, 1] }] }));
    assert.throws(() => loadRealDataset('real:other', REPO, src), /"lines" must be \[start, end\]/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('retrieval-only on a project memorized whole (tiny pack): file/line ranks, data errors, per-kind breakdown', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cmt-real-'));
  try {
    const src = makeProject(root);
    const out = path.join(root, 'out');
    const lists = path.join(root, 'lists');
    const r = await runRetrievalEval({ pack: TINY, datasets: ['real:demo'], real: src, repoRoot: REPO, outDir: out, tag: 'real', listsOut: lists, log: () => undefined, command: 'test' });
    assert.equal(r.runs.length, 1);
    const run = r.runs[0];
    const real = run.real!;
    assert.ok(real, 'a real run');
    // memorized whole: the tree minus .gitignore'd and default-excluded files
    const mem = real.projects[0].memorize;
    assert.equal(mem.files, 6, '.gitignore, config.json, README.md, docs/deploy.md, src/frobnicate.py, src/storage.py');
    assert.equal(mem.skipped.gitignored, 1);
    assert.equal(mem.skipped.excluded, 1);
    assert.ok(mem.chunks >= 6 && mem.sourceBytes > 500 && mem.wallMs > 0);
    // data errors: counted, listed, excluded
    assert.deepEqual(real.dataErrors.map((d) => d.id).sort(), ['e1', 'e2']);
    assert.match(real.dataErrors.find((d) => d.id === 'e1')!.reason, /gitignore/);
    assert.match(real.dataErrors.find((d) => d.id === 'e2')!.reason, /excluded/);
    assert.equal(run.questions, 6);
    assert.equal(real.projects[0].questions, 6);
    assert.equal(real.projects[0].dataErrors, 2);
    // per kind (fusion)
    assert.deepEqual(Object.fromEntries(Object.entries(real.byKind).map(([k, x]) => [k, x.questions])), { code: 2, config: 1, docs: 2, hand: 1 });
    // the scores are the ranks of the written lists, recomputed here
    const qls = (JSON.parse(fs.readFileSync(`${lists}.0.json`, 'utf8')) as { questions: QLists[] }).questions;
    assert.equal(qls.length, 6);
    for (const k of ['key', 'text'] as const) {
      const items = qls.map((q) => ({ recs: q.lists[k]!, gold: q.gold, lines: q.lines! }));
      assert.deepEqual(run.retrievers[k], fileScoresOf(items), k);
      assert.deepEqual(real.lines[k], lineScoresOf(items), k);
    }
    // BM25 finds every gold file first (each question names a term only its file has) ...
    assert.equal(run.retrievers.text!.recall1, 100);
    // ... and d2's gold lines (past the end of README.md) are in no chunk: never a line hit
    const d2 = qls.find((q) => q.id === 'd2')!;
    assert.equal(fileRank(d2.lists.text!, 'README.md'), 1);
    assert.equal(lineRank(d2.lists.text!, 'README.md', d2.lines!), 0);
    for (const [k, l] of Object.entries(real.lines)) assert.ok(l.hit5 <= 100 - 100 / 6 + 0.01, `${k}: d2 is never a line hit`);
    for (const x of Object.values(run.retrievers)) assert.ok(x.recall1 <= x.recall5 && x.recall5 <= 100 && x.mrr >= x.recall1 / 100 - 1e-9);
    // the report
    const md = fs.readFileSync(path.join(out, 'real.md'), 'utf8');
    assert.equal(md, retrievalMarkdown(JSON.parse(fs.readFileSync(path.join(out, 'real.json'), 'utf8'))));
    assert.match(md, /\| retriever \| file recall@1 \| file recall@5 \| file MRR \| line hit@1 \| line hit@5 \|/);
    assert.match(md, /\| kind \| questions \| file recall@1 \| file recall@5 \| line hit@5 \|/);
    assert.match(md, /Data errors: 2 question/);
    assert.match(md, /\| demo \| e1 \| `scratch_notes.md` \|/);
    assert.match(md, /\*\*all \(real:demo\)\*\*/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('--fit mixes real datasets (file-level gold rank) with SQuAD-format ones', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cmt-real-'));
  try {
    const src = makeProject(root);
    const r = await runRetrievalEval({ pack: TINY, datasets: ['real:demo', 'workspace-dev'], maxDocs: 8, maxQuestions: 8, fit: true, real: src, repoRoot: REPO, write: false, log: () => undefined });
    assert.ok(r.fit);
    assert.deepEqual(r.fit.datasets, ['real:demo', 'workspace-dev']);
    assert.equal(r.runs[0].questions, 6);
    assert.equal(r.runs[1].real, undefined);
    assert.equal(r.runs[0].retrievers.fusion!.recall1 >= 0, true);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('answers on a real project (tiny pack): gold document = gold file, "right" per kind, data errors, no curves', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cmt-real-'));
  try {
    const src = makeProject(root);
    const r = await runEval({ pack: TINY, datasets: ['real:demo'], variants: ['rag_top1', 'cmt'], maxNewTokens: 3, maxQuestions: 7, real: src, repoRoot: REPO, write: false, log: () => undefined });
    assert.equal(r.retention, undefined, 'no curves on real projects');
    const run = r.runs[0];
    // 7 sampled of 8 at evenly spaced indices floor(i*8/7) = 0..6: demo.json's 7 (two data errors), not h1
    assert.equal(run.questions, 5);
    assert.deepEqual(run.real!.dataErrors.map((d) => d.id), ['e1', 'e2']);
    assert.equal(run.memorize.memorized, 6);
    for (const v of ['rag_top1', 'cmt'] as const) {
      const x = run.variants[v]!;
      assert.equal(x.n, run.questions);
      assert.ok(x.right >= 0 && x.right <= 100 && x.right >= x.em);
    }
    assert.deepEqual(Object.keys(run.real!.byKind).sort(), ['code', 'config', 'docs']);
    assert.equal(Object.values(run.real!.byKind).reduce((a, k) => a + k.questions, 0), run.questions);
    // the gold document is the gold file: BM25's top chunk is of it for every question
    assert.equal(run.retrieval.text.recall1, 100);
    const md = evalMarkdown(r);
    assert.match(md, /\| variant \| EM \| F1 \| right \|/);
    assert.match(md, /\| kind \| questions \| top chunk of the gold file \| rag_top1 right \| cmt right \|/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

// CI smoke test: real:express with packs/default, a dozen questions.
const EXPRESS_WS = path.join(REPO, '.cache', 'real-repos', 'ws', 'express');
const smokeSkip = !fs.existsSync(path.join(DEFAULT_PACK, 'pack.json'))
  ? 'packs/default is missing (bash scripts/setup.sh builds it)'
  : !fs.existsSync(EXPRESS_WS) && process.env.CMT_OFFLINE === '1'
    ? 'CMT_OFFLINE=1 and .cache/real-repos/ws/express is missing (python3 benchmarks/real/fetch.py express)'
    : false;

test('smoke: real:express with packs/default, fusion file recall@5 >= 50, every gold file memorized', { skip: smokeSkip, timeout: 600_000 }, async () => {
  if (!fs.existsSync(EXPRESS_WS)) {
    const f = spawnSync('python3', [path.join(REPO, 'benchmarks', 'real', 'fetch.py'), 'express'], { cwd: REPO, encoding: 'utf8' });
    assert.equal(f.status, 0, `python3 benchmarks/real/fetch.py express failed (set CMT_OFFLINE=1 to skip this test offline): ${f.stderr || f.stdout || f.error}`);
  }
  const qdir = path.join(REPO, 'benchmarks', 'real', 'questions');
  const read = (f: string) => (fs.existsSync(path.join(qdir, f)) ? (JSON.parse(fs.readFileSync(path.join(qdir, f), 'utf8')) as { questions: unknown[] }).questions : []);
  const rule = read('express.json');
  const hand = read('express.hand.json');
  const questions = [...rule.slice(0, 12 - Math.min(4, hand.length)), ...hand].slice(0, 12);
  assert.ok(questions.length >= 5, 'benchmarks/real/questions/express(.hand).json hold the smoke questions');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cmt-real-smoke-'));
  try {
    fs.writeFileSync(path.join(tmp, 'express.json'), JSON.stringify({ project: 'express', questions }));
    const t0 = Date.now();
    const r = await runRetrievalEval({ pack: DEFAULT_PACK, datasets: ['real:express'], real: { questionsDir: tmp }, repoRoot: REPO, write: false, log: () => undefined });
    const run = r.runs[0];
    assert.deepEqual(run.real!.dataErrors, [], 'every gold file was memorized');
    assert.equal(run.questions, questions.length);
    assert.ok(run.retrievers.fusion!.recall5 >= 50, `fusion file recall@5 ${run.retrievers.fusion!.recall5}`);
    const m = run.real!.projects[0].memorize;
    assert.ok(m.compressorMs > 0 && m.compressorMs + m.embedderMs <= m.wallMs, `compressor ${m.compressorMs} ms + embedder ${m.embedderMs} ms within memorize ${m.wallMs} ms`);
    process.stderr.write(`# smoke real:express: ${run.questions} questions, fusion file recall@1 ${run.retrievers.fusion!.recall1} @5 ${run.retrievers.fusion!.recall5}, line hit@5 ${run.real!.lines.fusion!.hit5}; ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('fitFusion scores candidates with a prepared ranker that matches the exact fused rank (real and SQuAD-format questions)', () => {
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const files = ['a.py', 'b.py', 'c.md', 'd.toml', 'e.js', 'f.py'];
  let same = 0;
  let n = 0;
  for (let qi = 0; qi < 60; qi++) {
    const hit = () => {
      const f = files[Math.floor(rand() * files.length)];
      const s = 1 + Math.floor(rand() * 50);
      return { id: `${f}#${s}-${s + 5}`, path: f, s: rand() * 10, startLine: s, endLine: s + 5 };
    };
    const list = (len: number) => Array.from({ length: len }, hit);
    const text = list(8).sort((x, y) => (y.s ?? 0) - (x.s ?? 0));
    const q = { gold: files[qi % files.length], ...(qi % 2 ? { lines: [3, 4] as [number, number] } : {}), lists: { text, emb: list(8), def: list(4), path: list(3) } };
    for (const w of [
      { key: 0, emb: 0.5, text: 1, def: 1, path: 2, rrfK: 5, textGate: 1.2 },
      { key: 0, emb: 1, text: 1, def: 0, path: 0, rrfK: 60, textGate: 0 },
    ]) {
      const p = prepare(q, 50);
      const exact = fusedRank(q, w, 50);
      const fast = preparedRank(p, w, new Float64Array(p.group.length), new Float64Array(p.groups));
      n++;
      if (exact === fast) same++;
      else assert.ok(Math.abs(exact - fast) <= 1, `off by more than a tie: ${exact} vs ${fast}`);
    }
  }
  // Random lists tie often (equal weights, equal ranks); on the real-dev lists they agree on 99.9 %.
  assert.ok(same / n >= 0.75, `prepared ranks agree on ${same}/${n}`);
});
