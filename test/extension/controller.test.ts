// The controller (src/extension/controller.ts) against a fake engine and a stub `vscode`: no engine
// process, no editor. node --test out/test/extension/controller.test.js
import * as stub from './vscodeStub';
import { FakeEngine, setup, TINY } from './fakes';
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import type { EngineClientOptions } from '../../src/core/client';
import { CmtError } from '../../src/core/types';
import type { EngineLike } from '../../src/extension/controller';
import { PACK_EXTENSION_ID } from '../../src/extension/packLocation';

test('start: the engine starts with the pack and bank from the settings; the counts are read', async () => {
  const { ctrl, engines, cleanup } = setup();
  try {
    await ctrl.start();
    assert.equal(engines.length, 1);
    assert.equal(engines[0].opts.init.packDir, TINY);
    assert.equal(ctrl.state.phase, 'ready');
    assert.equal(ctrl.state.packName, 'Fake pack');
    assert.equal(ctrl.state.memories, 2);
  } finally {
    await cleanup();
  }
});

test('counts are fresh when a memorize resolves (sidebar and status bar; was "2 memories" after 2,023 files)', async () => {
  const { ctrl, ws, cleanup } = setup();
  try {
    await ctrl.start();
    const seen: (number | undefined)[] = [];
    ctrl.onDidChangeState((s) => seen.push(s.memories));
    const { summary } = await ctrl.memorize([path.join(ws, 'a.md'), path.join(ws, 'b.md')], { trigger: 'command' });
    assert.equal(summary.memorized, 2);
    assert.equal(ctrl.state.memories, 8, 'the count is refreshed before memorize resolves');
    assert.equal(ctrl.state.indexing, null);
    assert.ok(seen.includes(8));
  } finally {
    await cleanup();
  }
});

test('memorizes run one at a time; paths outside every workspace folder are left out', async () => {
  const { ctrl, ws, engines, cleanup } = setup();
  try {
    await ctrl.start();
    await Promise.all([
      ctrl.memorize([path.join(ws, 'a.md')], { trigger: 'command' }),
      ctrl.memorize([path.join(ws, 'b.md'), path.join(os.tmpdir(), 'elsewhere.md')], { trigger: 'watch' }),
    ]);
    const e = engines[0];
    assert.equal(e.maxRunning, 1);
    assert.deepEqual(e.memorizeCalls.map((c) => c.paths.map((p) => path.basename(p))), [['a.md'], ['b.md']]);
    assert.deepEqual(e.memorizeCalls.map((c) => !!c.respectGitignore), [false, true], 'watcher saves honour .gitignore');
  } finally {
    await cleanup();
  }
});

test('a pack the engine refuses puts the view in the noPack state with the reason', async () => {
  const { ctrl, cleanup } = setup();
  try {
    // the fake refuses on its first start
    const c = ctrl as unknown as { makeEngine: (o: EngineClientOptions) => EngineLike };
    const make = c.makeEngine;
    c.makeEngine = (o) => {
      const e = make(o) as unknown as FakeEngine;
      e.failStart = new CmtError('PACK_CORRUPT', 'pack.json is not valid JSON');
      return e as unknown as EngineLike;
    };
    await ctrl.start();
    assert.equal(ctrl.state.phase, 'noPack');
    assert.match(ctrl.state.detail ?? '', /not valid JSON/);
  } finally {
    await cleanup();
  }
});

test('no pack folder: noPack without starting an engine', async () => {
  const { ctrl, engines, cleanup } = setup({ pack: path.join(os.tmpdir(), 'no-such-pack-dir') });
  try {
    await ctrl.start();
    assert.equal(ctrl.state.phase, 'noPack');
    assert.match(ctrl.state.detail ?? '', /No model pack at/);
    assert.equal(engines.length, 0);
  } finally {
    await cleanup();
  }
});

test('the default pack comes from the pack extension (cmt-memory.cmt-memory-pack) when it is installed', async () => {
  const packExt = fs.mkdtempSync(path.join(os.tmpdir(), 'cmt-pack-ext-'));
  fs.cpSync(TINY, path.join(packExt, 'pack'), { recursive: true });
  stub.installedExtensions[PACK_EXTENSION_ID] = packExt;
  // an editor extension folder without packs/default, as installed from a .vsix
  const { ctrl, engines, cleanup } = setup({ pack: null, extensionPath: packExt + '-editor' });
  try {
    await ctrl.start();
    assert.equal(ctrl.state.phase, 'ready');
    assert.equal(engines.length, 1);
    assert.equal(engines[0].opts.init.packDir, path.join(packExt, 'pack'));
  } finally {
    await cleanup();
    delete stub.installedExtensions[PACK_EXTENSION_ID];
    fs.rmSync(packExt, { recursive: true, force: true });
  }
});

test('no pack extension and no packs/default: noPack, and the message names the pack extension to install', async () => {
  const { ctrl, engines, cleanup } = setup({ pack: null, extensionPath: path.join(os.tmpdir(), 'no-such-editor-ext') });
  try {
    await ctrl.start();
    assert.equal(ctrl.state.phase, 'noPack');
    assert.match(ctrl.state.detail ?? '', /cmt-memory\.cmt-memory-pack/);
    assert.equal(engines.length, 0);
  } finally {
    await cleanup();
  }
});
