// The watcher (src/extension/watcher.ts) as the extension wires it: stub `vscode` file events ->
// its work queue -> the controller -> a fake engine. Replaces a hand-built copy of the pipeline.
import { events, fileUri, workspace } from './vscodeStub';
import { setup } from './fakes';
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { test } from 'node:test';
import { StatusLog } from '../../src/extension/statusLog';
import { Watcher } from '../../src/extension/watcher';

function watcherFor(s: ReturnType<typeof setup>): Watcher {
  return new Watcher(s.ctrl, new StatusLog(), { appendLine: () => undefined } as never, s.ctx as never);
}

test('trusted workspace: saved and created files are memorized in one batch, honouring .gitignore; ignored paths never reach the engine', async () => {
  const s = setup();
  const w = watcherFor(s);
  try {
    workspace.isTrusted = true;
    await s.ctrl.start();
    w.start();
    events.create.fire(fileUri(path.join(s.ws, 'a.md')));
    events.save.fire({ uri: fileUri(path.join(s.ws, 'b.ts')) });
    events.change.fire(fileUri(path.join(s.ws, 'node_modules', 'x', 'index.js'))); // default exclusion
    events.change.fire(fileUri(path.join(s.ws, '.cmt', 'bank', 'data.lance'))); // the bank itself
    assert.equal(w.queued, 2);
    await w.flush();
    const calls = s.engines[0].memorizeCalls;
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0].paths.map((p) => path.basename(p)), ['a.md', 'b.ts']);
    assert.equal(calls[0].respectGitignore, true);
    assert.equal(s.ctrl.state.memories, 8, 'counts refreshed after the batch');
  } finally {
    w.dispose();
    await s.cleanup();
  }
});

test('untrusted workspace: a burst of file events memorizes nothing', async () => {
  const s = setup();
  const w = watcherFor(s);
  try {
    workspace.isTrusted = false;
    await s.ctrl.start();
    w.start();
    assert.equal(w.active, false);
    assert.equal(w.inactiveReason, 'this workspace is not trusted');
    for (const f of ['a.ts', 'b.md', 'c.py']) events.create.fire(fileUri(path.join(s.ws, f)));
    await w.flush();
    assert.equal(w.queued, 0);
    assert.deepEqual(s.engines[0].memorizeCalls, []);
  } finally {
    workspace.isTrusted = true;
    w.dispose();
    await s.cleanup();
  }
});

test('paused: events are held, and run on resume', async () => {
  const s = setup();
  const w = watcherFor(s);
  try {
    await s.ctrl.start();
    w.start();
    w.setPaused(true);
    events.create.fire(fileUri(path.join(s.ws, 'a.md')));
    await w.flush();
    assert.equal(w.queued, 1);
    assert.deepEqual(s.engines[0].memorizeCalls, []);
    w.setPaused(false);
    await w.flush();
    assert.equal(s.engines[0].memorizeCalls.length, 1);
  } finally {
    w.dispose();
    await s.cleanup();
  }
});
