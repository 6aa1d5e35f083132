// The bank settings (src/extension/settings.ts): a shared bank's URI is kept as it is (not taken
// for a folder), and bankReadOnly / bankEndpoint / bankRegion / bankReplica reach the engine; never credentials.
import { config } from './vscodeStub';
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { initializeParams, readSettings, RESTART_KEYS } from '../../src/extension/settings';

const ctx = { extensionPath: '/ext', globalStorageUri: { fsPath: '/gs' } } as never;

test('bankLocation s3://… is the bank URI; bankReadOnly, bankEndpoint, bankRegion, bankReplica go to the engine and restart it', () => {
  config.cmtMemory = { bankLocation: ' s3://team/monorepo ', bankReadOnly: true, bankEndpoint: 'http://127.0.0.1:9000', bankRegion: 'eu-west-1', bankReplica: ' off ' };
  try {
    const s = readSettings(ctx);
    assert.equal(s.bankDir, 's3://team/monorepo');
    const init = initializeParams(s);
    assert.equal(init.bankUri, 's3://team/monorepo');
    assert.deepEqual(init.access, { readOnly: true, endpoint: 'http://127.0.0.1:9000', region: 'eu-west-1', replica: 'off' });
    for (const k of ['bankReadOnly', 'bankEndpoint', 'bankRegion', 'bankReplica']) assert.ok(RESTART_KEYS.includes(`cmtMemory.${k}`), k);
  } finally {
    config.cmtMemory = {};
  }
});

test('defaults: a local bank, writable, no endpoint or region', () => {
  const s = readSettings(ctx);
  assert.ok(!/^s3:/.test(s.bankDir));
  assert.deepEqual(initializeParams(s).access, { readOnly: false });
});
