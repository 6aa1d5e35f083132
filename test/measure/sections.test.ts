// The section registries of `cmt bench` and `cmt eval`: options declared once, --help built from
// the declarations, defaults and --quick values applied, and no engine code loaded by `cmt` to list them.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { Option } from 'commander';
import { benchCommand } from '../../src/bench/command';
import { BENCH_SECTIONS, DEFAULT_SECTIONS, SECTIONS } from '../../src/bench/sections';
import { helpOrder, measureCommand } from '../../src/cli/measure';
import { evalCommand } from '../../src/eval/command';
import { EVAL_SECTIONS } from '../../src/eval/sections';
import { allOptions, MeasureContext, OptionSpecs, resolveOptions } from '../../src/measure/options';

const REPO = path.resolve(__dirname, '..', '..', '..');
const ctx: MeasureContext = { pack: () => 'pack', device: () => 'cpu', commandLine: () => 'cmt' };

test('every option of eval and bench is declared once: one name, one flag', () => {
  for (const cmd of [benchCommand, evalCommand]) {
    const all = allOptions(cmd.options); // throws on a name declared twice
    const flags = Object.values(all).map((s) => new Option(s.flags).long);
    assert.equal(new Set(flags).size, flags.length, `${cmd.name}: a flag declared twice`);
    assert.throws(() => allOptions([...cmd.options, { [Object.keys(all)[0]]: Object.values(all)[0] }]), /declared twice/);
  }
});

test('--help lists every declared option, in declaration order but for helpAfter', () => {
  for (const def of [benchCommand, evalCommand]) {
    const cmd = measureCommand(def, ctx);
    const order = helpOrder(def.options);
    assert.deepEqual(cmd.options.map((o) => o.flags), order.map(([, s]) => s.flags));
    for (const [, s] of order.filter(([, x]) => x.helpAfter)) {
      const i = cmd.options.findIndex((o) => o.flags === s.flags);
      assert.equal(cmd.options[i - 1].long, s.helpAfter, `${s.flags} comes right after ${s.helpAfter}`);
    }
  }
  assert.throws(() => helpOrder([{ a: { flags: '--a', description: '', kind: 'flag', helpAfter: '--nope' } }]), /not an option/);
});

test('bench: --sections names every section; the default set leaves out chunking, search and shared-bank', () => {
  assert.deepEqual([...SECTIONS].sort(), BENCH_SECTIONS.map((s) => s.name).sort());
  assert.deepEqual(DEFAULT_SECTIONS, SECTIONS.filter((s) => s !== 'chunking' && s !== 'search' && s !== 'shared-bank'));
  const help = measureCommand(benchCommand, ctx).options.find((o) => o.long === '--sections')!.description;
  assert.match(help, new RegExp(`\\(${SECTIONS.join(', ')}; default: all but chunking, search and shared-bank\\)`));
  assert.deepEqual(EVAL_SECTIONS.map((s) => s.name), ['qa', 'grounding', 'curves']);
});

test('resolveOptions: given, else the --quick value under --quick, else the default; arrays are copies', () => {
  const specs = {
    a: { flags: '--a <n>', description: '', kind: 'number', default: 1, quick: 2 },
    b: { flags: '--b <list>', description: '', kind: 'numbers', default: [1, 2] },
    c: { flags: '--c <s>', description: '', kind: 'string' },
  } satisfies OptionSpecs;
  assert.deepEqual(resolveOptions(specs, {}), { a: 1, b: [1, 2] });
  assert.deepEqual(resolveOptions(specs, {}, true), { a: 2, b: [1, 2] });
  assert.deepEqual(resolveOptions(specs, { a: 5, c: 'x' }, true), { a: 5, b: [1, 2], c: 'x' });
  const r = resolveOptions(specs, {}) as { b: number[] };
  r.b.push(3);
  assert.deepEqual(specs.b.default, [1, 2]);
});

test('the commander values reach the runner under the declared names (negatable ones default to true)', async () => {
  let given: Record<string, unknown> = {};
  const cmd = measureCommand({ ...evalCommand, run: async (_c, g) => void (given = g) }, ctx);
  await cmd.parseAsync(['--dataset', 'a,b', '--beams', '2', '--noise', '0,0.5', '--no-curves', '--lists', 'p'], { from: 'user' });
  assert.deepEqual(given.datasets, ['a', 'b']);
  assert.equal(given.numBeams, 2);
  assert.deepEqual(given.noiseFractions, [0, 0.5]);
  assert.equal(given.curves, false);
  assert.equal(given.confidenceFloors, true);
  assert.equal(given.listsOut, 'p');
  assert.equal(given.quick, undefined);
});

test('cmt loads no engine code (ONNX Runtime, LanceDB, llama.cpp) to build its commands', () => {
  const script = `require(${JSON.stringify(path.join(REPO, 'out', 'src', 'cli', 'cmt.js'))});
    const heavy = Object.keys(require.cache).filter((m) => /onnxruntime|lancedb|apache-arrow|node-llama-cpp/.test(m));
    process.stdout.write(JSON.stringify(heavy));`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), []);
});
