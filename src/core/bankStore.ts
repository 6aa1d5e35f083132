// Banks on object storage (s3://, s3+ddb://, gs://, az://; docs/team.md): the connection options a
// store needs (endpoint, region), what an object-store failure means for the user (a missing
// bucket, refused credentials, no network: CmtError BANK_UNAVAILABLE naming what to fix), and the
// redaction that keeps secrets out of every message and log line. Credentials are never options
// here: LanceDB's object store reads them from the standard places (environment variables such as
// AWS_ACCESS_KEY_ID / AWS_PROFILE, the profile files, the platform's default chain). Also where a
// store's bank is replicated on this machine for reading (replicaDirFor).
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import type * as lancedb from '@lancedb/lancedb';
import envPaths from 'env-paths';
import { CmtError } from './types';

/** How the engine reaches a bank (settings, CLI flags): never credentials. */
export interface BankAccess {
  /** Never write: memorize/forget fail with BANK_UNAVAILABLE saying so, no compaction, no index builds. */
  readOnly?: boolean;
  /** The object store's endpoint (S3-compatible stores: MinIO, Ceph, R2, a local moto server); http:// is allowed. */
  endpoint?: string;
  /** The store's region (S3: else AWS_REGION / AWS_DEFAULT_REGION / the profile's). */
  region?: string;
  /** Seconds after which a read checks the store for other machines' commits (default READ_CONSISTENCY_S; 0: every read). */
  readConsistencyS?: number;
  /**
   * An object-store bank's local copy for reading (bankReplica.ts): 'on' (the default: a folder of
   * this bank in the user's cache folder, replicaDirFor), a folder, or 'off'.
   */
  replica?: string;
}

/** The object-store schemes the bank accepts (LanceDB's own names). */
export const OBJECT_STORE_SCHEMES = ['s3', 's3+ddb', 'gs', 'az'] as const;

/** The URI's scheme, lower-cased ('' for a plain path: no `scheme://`). */
export function uriScheme(uri: string): string {
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri);
  return m ? m[1].toLowerCase() : '';
}

/** Whether `uri` names a bank on object storage (several machines may share it). */
export function isObjectStoreUri(uri: string): boolean {
  return (OBJECT_STORE_SCHEMES as readonly string[]).includes(uriScheme(uri));
}

/** The bucket (or container) a URI names. */
export function bucketOf(uri: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(uri)?.[1].replace(/^.*@/, '') ?? '';
}

/** LanceDB connection options for `uri` (undefined: none needed). */
export function connectOptionsFor(uri: string, access: BankAccess = {}): Partial<lancedb.ConnectionOptions> | undefined {
  if (!isObjectStoreUri(uri)) return undefined;
  const storageOptions: Record<string, string> = {};
  if (access.endpoint) {
    storageOptions.endpoint = access.endpoint;
    if (access.endpoint.startsWith('http://')) storageOptions.allow_http = 'true';
  }
  if (access.region) storageOptions.region = access.region;
  // Reads see other machines' commits within this many seconds (each check costs a request to the store).
  return { storageOptions, readConsistencyInterval: access.readConsistencyS ?? READ_CONSISTENCY_S };
}

/**
 * Where an object-store bank's replica lives (bankReplica.ts): the folder `access.replica` names, else
 * the user's cache folder (env-paths: ~/.cache on Linux, ~/Library/Caches on macOS, %LOCALAPPDATA% on
 * Windows), one folder per bank URI and endpoint; null for a local bank or with 'off'.
 */
export function replicaDirFor(uri: string, access: BankAccess = {}): string | null {
  if (!isObjectStoreUri(uri) || access.replica === 'off') return null;
  if (access.replica && access.replica !== 'on') return access.replica;
  const id = createHash('sha256').update(`${uri}\n${access.endpoint ?? ''}`).digest('hex').slice(0, 16);
  return path.join(envPaths('cmt-memory', { suffix: '' }).cache, 'replicas', id);
}

/** Seconds after which a read checks the store for a newer table version (docs/RESULTS.md, "A shared bank"). */
export const READ_CONSISTENCY_S = 5;

/**
 * Opens or creates a table that another process may be creating at the same moment: LanceDB then
 * reports it as existing but not loadable (its first version is not committed yet), or the
 * creation loses the race, or a commit on the new table (the writer lease taking its row) meets the
 * other creator's overwrite ("Incompatible transaction"; nothing of the loser was committed). Retried
 * (up to ~10 s) until the other creator's commit is visible.
 */
export async function openOrCreate<T>(fn: () => Promise<T>, tries = 40): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      const m = e instanceof Error ? e.message : String(e);
      if (i >= tries || !/could not be loaded|was not found|already exists|Not found: .*_versions|Commit conflict|Retryable commit conflict|Incompatible transaction|preempted by concurrent transaction/i.test(m)) throw e;
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 200));
    }
  }
}

/** Environment variables whose values are secrets (never shown, whatever message carries them). */
const SECRET_ENV = [
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_SECURITY_TOKEN',
  'AZURE_STORAGE_ACCOUNT_KEY',
  'AZURE_STORAGE_KEY',
  'AZURE_STORAGE_SAS_TOKEN',
  'AZURE_CLIENT_SECRET',
  'GOOGLE_SERVICE_ACCOUNT_KEY',
];

/** Option and query-parameter names whose values are secrets. */
const SECRET_KEY = /(secret|token|password|passwd|signature|sig|credential|account_key|access_key)/i;

/**
 * `text` with secrets replaced by ***: the user:password part of URIs, secret-looking query
 * parameters and key=value / "key": "value" pairs, and the value of every secret environment variable.
 */
export function redact(text: string, env: NodeJS.ProcessEnv = process.env): string {
  let out = text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s?#]+@/gi, '$1***@');
  out = out.replace(/([?&;,\s{"]|^)([A-Za-z0-9_-]+)(["']?\s*[=:]\s*["']?)([^&\s"',}?]+)/g, (all, pre: string, key: string, eq: string) =>
    SECRET_KEY.test(key) ? `${pre}${key}${eq}***` : all,
  );
  for (const name of SECRET_ENV) {
    const v = env[name];
    if (v && v.length >= 4) out = out.split(v).join('***');
  }
  return out;
}

/** The bank URI as it may be shown (logs, status, errors). */
export function displayUri(uri: string): string {
  return redact(uri);
}

/**
 * A failure to reach or use an object-store bank as a CmtError naming what to fix (null: `e` is
 * not one of the known object-store failures). The message is redacted.
 */
export function objectStoreError(e: unknown, uri: string, access: BankAccess = {}): CmtError | null {
  if (!isObjectStoreUri(uri)) return null;
  const raw = e instanceof Error ? e.message : String(e);
  const where = displayUri(uri);
  const setting = '--bank / CMT_BANK / cmtMemory.bankLocation';
  const endpoint = access.endpoint ?? process.env.AWS_ENDPOINT_URL ?? process.env.AWS_ENDPOINT ?? 'the default endpoint';
  const detail = redact(raw.split('\n')[0].slice(0, 300));
  let msg: string | null = null;
  if (/NoSuchBucket|bucket does not exist|ContainerNotFound|The specified container does not exist/i.test(raw)) {
    msg = `the bucket "${bucketOf(uri)}" of the memory bank ${where} does not exist. Fix: create it (e.g. aws s3 mb s3://${bucketOf(uri)}), or correct the bucket name in ${setting}`;
  } else if (/InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied|ExpiredToken|AuthorizationFailure|AuthenticationFailed|status: 40[13]|InvalidToken|credential/i.test(raw)) {
    msg = `the object store refused the credentials for the memory bank ${where}. Fix: set valid credentials in the standard places (AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or the platform's default chain; GOOGLE_APPLICATION_CREDENTIALS; AZURE_STORAGE_ACCOUNT_NAME + a key or SAS token) with read (and, to memorize, write) access to the bucket`;
  } else if (/tcp connect|Connection refused|error sending request|dns error|failed to lookup|timed out|Network is unreachable|connection reset|ConnectError/i.test(raw)) {
    msg = `cannot reach the object store of the memory bank ${where} at ${redact(endpoint)}. Fix: check the network, or the endpoint (--bank-endpoint / cmtMemory.bankEndpoint / AWS_ENDPOINT_URL; http:// endpoints are allowed)`;
  }
  return msg ? new CmtError('BANK_UNAVAILABLE', `${msg} (${detail})`) : null;
}
