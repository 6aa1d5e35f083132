// Unit tests of the extension's pure pieces (no `vscode` needed): node --test out/test/extension/
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { test } from 'node:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { defaultPackDir, packExists } from '../../src/extension/packLocation';
import { isInside, resolveCitationPath, toRel, workspaceKey } from '../../src/extension/paths';
import { parseFromWebview } from '../../src/extension/webviewInput';
import { Batch, WorkQueue } from '../../src/extension/workQueue';
import { EDITOR_ANSWER_MODES, EDITOR_DEVICES } from '../../src/extension/settingValues';
import { DEVICES } from '../../src/core/types';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('work queue: repeated edits of one file coalesce into one memorize after the debounce', async () => {
  const batches: Batch[] = [];
  const q = new WorkQueue({ debounceMs: 40, run: async (b) => void batches.push(b) });
  for (let i = 0; i < 10; i++) {
    q.push({ kind: 'memorize', path: '/w/a.ts' });
    await sleep(5);
  }
  q.push({ kind: 'memorize', path: '/w/b.ts' });
  assert.equal(batches.length, 0, 'nothing runs before the debounce');
  await sleep(80);
  assert.equal(batches.length, 1);
  assert.deepEqual(batches[0].memorizes, ['/w/a.ts', '/w/b.ts']);
  q.dispose();
});

test('work queue: the latest event per path wins; renames carry pending edits along', async () => {
  const batches: Batch[] = [];
  const q = new WorkQueue({ debounceMs: 10, run: async (b) => void batches.push(b) });
  q.push({ kind: 'memorize', path: '/w/a' });
  q.push({ kind: 'forget', path: '/w/a' }); // saved then deleted
  q.push({ kind: 'forget', path: '/w/b' });
  q.push({ kind: 'memorize', path: '/w/b' }); // deleted then re-created
  q.push({ kind: 'memorize', path: '/w/c' });
  q.push({ kind: 'rename', from: '/w/c', to: '/w/d' });
  await q.flush();
  assert.equal(batches.length, 1);
  assert.deepEqual(batches[0].forgets, ['/w/a']);
  assert.deepEqual(batches[0].memorizes.sort(), ['/w/b', '/w/d']);
  assert.deepEqual(batches[0].renames, [{ from: '/w/c', to: '/w/d' }]);
  q.dispose();
});

test('work queue: batches never overlap; events during a batch go to the next one', async () => {
  const seen: string[][] = [];
  let running = 0;
  let maxRunning = 0;
  const q = new WorkQueue({
    debounceMs: 5,
    run: async (b) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      seen.push(b.memorizes);
      await sleep(30);
      running--;
    },
  });
  q.push({ kind: 'memorize', path: '/w/1' });
  await sleep(15); // batch 1 running
  q.push({ kind: 'memorize', path: '/w/2' });
  q.push({ kind: 'memorize', path: '/w/2' });
  await sleep(100);
  assert.deepEqual(seen, [['/w/1'], ['/w/2']]);
  assert.equal(maxRunning, 1);
  q.dispose();
});

test('work queue: pause holds work, resume runs it; maxWait bounds a steady stream', async () => {
  const batches: Batch[] = [];
  const q = new WorkQueue({ debounceMs: 30, maxWaitMs: 60, run: async (b) => void batches.push(b) });
  q.pause();
  q.push({ kind: 'memorize', path: '/w/p' });
  await sleep(50);
  assert.equal(batches.length, 0);
  q.resume();
  await sleep(50);
  assert.equal(batches.length, 1);
  // a save every 10 ms for 150 ms: maxWait forces batches out instead of waiting forever
  const t0 = Date.now();
  while (Date.now() - t0 < 150) {
    q.push({ kind: 'memorize', path: '/w/hot' });
    await sleep(10);
  }
  assert.ok(batches.length >= 2, `expected a forced batch during the stream, got ${String(batches.length)}`);
  q.dispose();
});

test('webview messages: well-formed ones pass, everything else is rejected', () => {
  assert.deepEqual(parseFromWebview({ type: 'ask', text: '  hi  ' }), { type: 'ask', text: 'hi' });
  assert.deepEqual(parseFromWebview({ type: 'ready' }), { type: 'ready' });
  assert.deepEqual(parseFromWebview({ type: 'openCitation', messageId: 'ab12', index: 0 }), { type: 'openCitation', messageId: 'ab12', index: 0 });
  assert.deepEqual(parseFromWebview({ type: 'command', command: 'memorizeWorkspace' }), { type: 'command', command: 'memorizeWorkspace' });
  for (const bad of [
    null, 'ask', [], {}, { type: 'nope' },
    { type: 'ask', text: '' }, { type: 'ask', text: 42 }, { type: 'ask', text: 'x'.repeat(5000) }, { type: 'ask', text: 'a', extra: 1 },
    { type: 'openCitation', messageId: '../etc', index: 0 }, { type: 'openCitation', messageId: 'a', index: -1 },
    { type: 'openCitation', messageId: 'a', index: 1.5 }, { type: 'openCitation', messageId: 'a', index: 0, path: '/etc/passwd' },
    { type: 'command', command: 'workbench.action.terminal.new' }, { type: 'command', command: 'clearMemory' },
    { type: 'ready', x: 1 },
  ]) {
    assert.equal(parseFromWebview(bad), undefined, JSON.stringify(bad));
  }
});

test('citation paths resolve only inside a workspace folder', () => {
  const root = path.resolve('/tmp/ws');
  const other = path.resolve('/tmp/ws2');
  const all = () => true;
  assert.equal(resolveCitationPath([root], 'src/a.ts', all), path.join(root, 'src/a.ts'));
  assert.equal(resolveCitationPath([root], '../ws2/x', all), undefined);
  assert.equal(resolveCitationPath([root], 'a/../../x', all), undefined);
  assert.equal(resolveCitationPath([root], '/etc/passwd', all), undefined);
  assert.equal(resolveCitationPath([root], 'C:/x', all), undefined);
  assert.equal(resolveCitationPath([root], 'a\0b', all), undefined);
  assert.equal(resolveCitationPath([root], '', all), undefined);
  // multi-root: the first folder that has the file
  const exists = (p: string) => p === path.join(other, 'lib/b.ts');
  assert.equal(resolveCitationPath([root, other], 'lib/b.ts', exists), path.join(other, 'lib/b.ts'));
  assert.equal(resolveCitationPath([root, other], 'missing.ts', exists), undefined);
});

test('path helpers', () => {
  assert.ok(isInside('/a/b', '/a/b/c'));
  assert.ok(isInside('/a/b', '/a/b'));
  assert.ok(!isInside('/a/b', '/a/bc'));
  assert.ok(!isInside('/a/b', '/a'));
  // one helper for the engine and the editor: a folder whose name starts with two dots is inside
  assert.ok(isInside('/a/b', '/a/b/..foo'));
  assert.ok(isInside('/a/b', '/a/b/..foo/x.ts'));
  assert.ok(!isInside('/a/b', '/a/b/../x.ts'));
  assert.ok(!isInside('/a/b', '/a/b/..'));
  assert.equal(toRel('/a', '/a/b/c.ts'), 'b/c.ts');
  assert.equal(workspaceKey('file:///x'), workspaceKey('file:///x'));
  assert.notEqual(workspaceKey('file:///x'), workspaceKey('file:///y'));
  assert.match(workspaceKey('file:///x'), /^[0-9a-f]{16}$/);
});

test("package.json's setting enums are the engine's lists (devices, answer modes)", () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8'));
  const props = pkg.contributes.configuration.properties;
  assert.deepEqual(props['cmtMemory.device'].enum, [...EDITOR_DEVICES]);
  assert.deepEqual(props['cmtMemory.answerMode'].enum, [...EDITOR_ANSWER_MODES]);
  assert.equal(props['cmtMemory.answerMode'].enumDescriptions.length, EDITOR_ANSWER_MODES.length);
  // every editor device is an engine device
  for (const d of EDITOR_DEVICES) assert.ok((DEVICES as readonly string[]).includes(d));
});

test('defaultPackDir: the pack extension first, then packs/default of a development checkout', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cmt-packdir-'));
  try {
    const editor = path.join(tmp, 'editor'), packExt = path.join(tmp, 'pack-ext');
    const dev = path.join(editor, 'packs', 'default');
    // nothing anywhere: the place to fix is the pack extension's folder if installed, else packs/default
    assert.equal(defaultPackDir(editor, packExt), path.join(packExt, 'pack'));
    assert.equal(defaultPackDir(editor, undefined), dev);
    fs.mkdirSync(dev, { recursive: true });
    fs.writeFileSync(path.join(dev, 'pack.json'), '{}');
    assert.equal(defaultPackDir(editor, packExt), dev, 'an installed pack extension without a pack does not hide a working one');
    fs.mkdirSync(path.join(packExt, 'pack'), { recursive: true });
    fs.writeFileSync(path.join(packExt, 'pack', 'pack.json'), '{}');
    assert.equal(defaultPackDir(editor, packExt), path.join(packExt, 'pack'));
    assert.equal(packExists(path.join(packExt, 'pack')), true);
    assert.equal(packExists(tmp), false);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
