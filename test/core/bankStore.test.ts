// Object-store bank URIs (bankStore.ts): which URIs are shared, the options a store needs, the
// errors that name what to fix, and the redaction that keeps secrets out of messages and logs.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { bucketOf, connectOptionsFor, isObjectStoreUri, objectStoreError, redact, replicaDirFor } from '../../src/core/bankStore';

test('object-store URIs: s3, s3+ddb, gs, az are shared banks; local paths and file:// are not', () => {
  for (const u of ['s3://team/bank', 'S3://team/bank', 's3+ddb://team/bank?ddbTableName=t', 'gs://b/p', 'az://c/p']) assert.ok(isObjectStoreUri(u), u);
  for (const u of ['/tmp/bank', './.cmt/bank', 'file:///tmp/bank', 'C:\\bank', 'memory://x']) assert.ok(!isObjectStoreUri(u), u);
  assert.equal(bucketOf('s3://team/a/b'), 'team');
  assert.equal(bucketOf('s3://key:secret@team/a'), 'team');
});

test('connection options: endpoint (http allowed only for an http endpoint), region, read consistency; none for local banks', () => {
  assert.equal(connectOptionsFor('/tmp/bank', { endpoint: 'http://x' }), undefined);
  const o = connectOptionsFor('s3://team/b', { endpoint: 'http://127.0.0.1:9000', region: 'eu-west-1' });
  assert.deepEqual(o?.storageOptions, { endpoint: 'http://127.0.0.1:9000', allow_http: 'true', region: 'eu-west-1' });
  assert.ok((o?.readConsistencyInterval ?? 0) > 0);
  assert.deepEqual(connectOptionsFor('s3://team/b', { endpoint: 'https://minio.example.com' })?.storageOptions, { endpoint: 'https://minio.example.com' });
});

test('redact: URI user info, secret query parameters and key=value pairs, secret environment values', () => {
  const env = { AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG', AWS_SESSION_TOKEN: 'FwoGZXIvYXdzEBYaD' };
  const text = 'open s3://AKID:wJalr@team/x?sig=abc123&ok=1 failed; aws_secret_access_key=zzz9 "session_token": "tok42" key wJalrXUtnFEMI/K7MDENG tok FwoGZXIvYXdzEBYaD';
  const r = redact(text, env);
  for (const s of ['wJalr@', 'abc123', 'zzz9', 'tok42', 'wJalrXUtnFEMI/K7MDENG', 'FwoGZXIvYXdzEBYaD']) assert.ok(!r.includes(s), `${s} in ${r}`);
  assert.match(r, /s3:\/\/\*\*\*@team\/x\?sig=\*\*\*&ok=1/);
  assert.equal(redact('s3://team/bank failed: status 404', env), 's3://team/bank failed: status 404');
});

test('object-store errors name what to fix (bucket, credentials, network); other errors and local banks are left alone', () => {
  const env = process.env.AWS_SECRET_ACCESS_KEY;
  process.env.AWS_SECRET_ACCESS_KEY = 'verysecretvalue';
  try {
    const bucket = objectStoreError(new Error('ListRequest ... <Code>NoSuchBucket</Code> verysecretvalue'), 's3://team/b');
    assert.equal(bucket?.code, 'BANK_UNAVAILABLE');
    assert.match(bucket?.message ?? '', /bucket "team".*does not exist\. Fix: create it/);
    assert.ok(!(bucket?.message ?? '').includes('verysecretvalue'));
    assert.match(objectStoreError(new Error('status: 403 <Code>InvalidAccessKeyId</Code>'), 'gs://b/p')!.message, /refused the credentials/);
    assert.match(objectStoreError(new Error('tcp connect error Connection refused'), 's3://team/b', { endpoint: 'http://h:1' })!.message, /cannot reach the object store .* at http:\/\/h:1\. Fix/);
    assert.equal(objectStoreError(new Error('something else'), 's3://team/b'), null);
    assert.equal(objectStoreError(new Error('NoSuchBucket'), '/tmp/bank'), null);
  } finally {
    if (env === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
    else process.env.AWS_SECRET_ACCESS_KEY = env;
  }
});

test("an object-store bank's replica: a folder per URI and endpoint in the user's cache folder (the default), the folder asked for, or none", () => {
  const a = replicaDirFor('s3://team/mono', { endpoint: 'http://127.0.0.1:9000', replica: 'on' });
  assert.ok(a && path.isAbsolute(a) && a.includes(path.join('cmt-memory', 'replicas')), String(a));
  assert.notEqual(replicaDirFor('s3://team/mono', { replica: 'on' }), a); // another endpoint: another store
  assert.notEqual(replicaDirFor('s3://team/other', { endpoint: 'http://127.0.0.1:9000', replica: 'on' }), a);
  assert.equal(replicaDirFor('s3://team/mono', { endpoint: 'http://127.0.0.1:9000', replica: 'on' }), a); // stable
  assert.equal(replicaDirFor('s3://team/mono'), replicaDirFor('s3://team/mono', { replica: 'on' })); // on by default
  assert.equal(replicaDirFor('s3://team/mono', { replica: '/tmp/copy' }), '/tmp/copy');
  assert.equal(replicaDirFor('s3://team/mono', { replica: 'off' }), null);
  assert.equal(replicaDirFor('/home/me/.cmt/bank', { replica: 'on' }), null); // a local bank is read in place
});
