// `cmt` — memorize files into a CMT memory bank and ask questions about them, from a terminal.
//
// Engine placement: memorize/ask/forget/rename/status run the engine in a CHILD PROCESS through
// EngineClient (src/core/client.ts), not in this process. The engine loads native code (LanceDB,
// onnxruntime); a native crash (SIGILL on a CPU without AVX2, SIGSEGV, OOM kill) would otherwise kill
// the CLI with no message. Through the client the CLI always gets a clean ENGINE_CRASHED /
// CPU_UNSUPPORTED error with the engine's last log lines, and exits with a documented code.
// `cmt packs` only reads pack.json files and needs no engine. `cmt mcp` serves the same engine to an
// agent over the Model Context Protocol (src/mcp/server.ts) until the client disconnects.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, Option } from 'commander';
import { EngineClient, EngineClientOptions } from '../core/client';
import type { AskRequestOptions, AskResponse, MemorizeSummary } from '../core/protocol';
import { rewordIssue, SkipReason } from '../core/files';
import { ANSWER_MODES, AnswerMode, CmtError, Device, DEVICES } from '../core/types';
import { benchCommand } from '../bench/command';
import { evalCommand } from '../eval/command';
import type { MeasureContext } from '../measure/options';
import { measureCommand } from './measure';
import { collect, floatArg, intArg, parseSize } from './options';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..'); // out/src/cli -> repo
const DEFAULT_PACK = path.join(REPO_ROOT, 'packs', 'default');

export const EXIT = {
  OK: 0,
  USAGE: 1,
  PACK: 2,
  BANK: 3,
  NOTHING: 4, // nothing memorized / bad input
  ENGINE: 5, // engine crashed, CPU or device unsupported, internal error
  INTERRUPTED: 130,
} as const;

const EPILOGUE = `
Exit codes:
  0    success
  1    usage error (unknown command or option, bad option value)
  2    model pack error (missing, corrupt or incompatible pack)
  3    memory bank error (unavailable, or made by another pack)
  4    nothing memorized, or bad input (e.g. an empty question)
  5    engine error (engine process crashed, unsupported CPU or device, internal error)
  130  interrupted (Ctrl-C)

Environment:
  CMT_BANK     default memory bank location (else ./.cmt/bank)
  CMT_THREADS  ONNX Runtime threads per graph

Examples:
  cmt memorize src docs notes.md
  cmt ask "Which port does the API server listen on?"
  cmt ask --json --top-k 4 "When is the go-live?"
  cmt forget docs/old-design.md
  cmt status`;

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

interface GlobalOpts {
  pack?: string;
  bank?: string;
  device: Device;
  json?: boolean;
  verbose?: boolean;
}

/** The CLI's own fix, appended to the engine's message for these error codes. */
const CLI_FIXES: Partial<Record<CmtError['code'], string>> = {
  DEVICE_UNAVAILABLE: '; try --device auto or cpu',
};

/** The CLI's own fix for skip reasons the engine words without one. */
const CLI_SKIP_WORDS: Partial<Record<SkipReason, string>> = {
  excluded: 'excluded (default or --exclude rules)',
  secret: 'may hold secrets (.env, keys, credentials); force with --include',
};
const cliWords = <T extends { code?: string; reason: string }>(i: T): T => rewordIssue(i, CLI_SKIP_WORDS);

function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}

class Cli {
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
    return /^[a-z][a-z0-9+.-]*:\/\//i.test(b) ? b : path.resolve(base, b);
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
          ? `\nThe default pack is not built yet. Build it with \`npm run pack:default\` (trains and exports it; see docs/model-pack.md),` +
            ` or point --pack at a pack directory (e.g. --pack test/fixtures/tiny-pack for a random-weights test pack).`
          : `\nA pack is a directory with pack.json, tokenizer.json and three .onnx graphs (docs/model-pack.md).`),
    );
  }

  /** The engine client (started once): `cmt mcp` keeps the default restart budget, the other commands one retry. */
  async engine(opts: Pick<EngineClientOptions, 'maxRestarts'> & { bankBase?: string } = {}): Promise<EngineClient> {
    if (this.client) return this.client;
    this.checkPack();
    const bank = this.bankUri(opts.bankBase);
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(bank)) {
      try {
        fs.mkdirSync(path.dirname(bank), { recursive: true });
      } catch (e) {
        throw new CmtError('BANK_UNAVAILABLE', `cannot create the bank folder ${path.dirname(bank)}: ${(e as Error).message}`);
      }
    }
    const client = new EngineClient({
      init: { packDir: this.packDir(), bankUri: bank, device: this.g.device },
      maxRestarts: opts.maxRestarts ?? 1, // a CLI run is short: one retry, then report
      onStderr: (line) => {
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

// ---------------------------------------------------------------------------------------------
// Commands

/** Skipped files listed one by one up to this many; above it, grouped by reason with a few examples (`--list-skipped`: all). */
const SKIPPED_LISTED = 10;

/** The skipped files grouped by reason, most first: `39 × vendored dependencies: include/cargo/a/, include/cargo/b/, … (+36)`. */
export function groupedSkips(skipped: ReadonlyArray<{ path: string; reason: string; code?: string }>, examples = 3): string[] {
  const by = new Map<string, { reason: string; paths: string[] }>();
  for (const s of skipped) {
    const key = s.code ?? s.reason;
    const g = by.get(key) ?? { reason: s.reason, paths: [] };
    // One reason for the group: a per-file detail in brackets ("too large (2 MB > 1 MB)") is dropped when the files differ in it.
    if (g.reason !== s.reason) g.reason = s.reason.replace(/ \([^()]*\)$/, '');
    g.paths.push(s.path);
    by.set(key, g);
  }
  return [...by.values()]
    .sort((a, b) => b.paths.length - a.paths.length)
    .map((g) => `  ${g.paths.length} × ${g.reason}: ${g.paths.slice(0, examples).join(', ')}${g.paths.length > examples ? `, … (+${g.paths.length - examples})` : ''}`);
}

async function cmdMemorize(cli: Cli, paths: string[], o: { root?: string; force?: boolean; include?: string[]; exclude?: string[]; maxFileSize?: number; listSkipped?: boolean }): Promise<number> {
  const root = path.resolve(o.root ?? process.cwd());
  const abs = paths.map((p) => path.resolve(p));
  const client = await cli.engine();
  const tty = !cli.json && process.stderr.isTTY;
  let bar: import('cli-progress').SingleBar | undefined;
  if (tty) {
    // Loaded only for interactive runs.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded lazily, on purpose
    const cp = require('cli-progress') as typeof import('cli-progress');
    bar = new cp.SingleBar(
      { format: 'memorizing [{bar}] {value}/{total} files | {file}', hideCursor: true, clearOnComplete: true, stream: process.stderr },
      cp.Presets.shades_classic,
    );
  }
  let started = false;
  let summary: MemorizeSummary;
  try {
    summary = await client.memorize(
      { paths: abs, root, force: o.force, include: o.include, exclude: o.exclude, maxFileBytes: o.maxFileSize },
      {
        signal: cli.signal,
        onProgress: (p) => {
          if (!bar) return;
          const file = p.path.length > 50 ? '…' + p.path.slice(-49) : p.path;
          if (!started) {
            bar.start(p.total, p.done, { file });
            started = true;
          } else {
            bar.setTotal(p.total);
            bar.update(p.done, { file });
          }
        },
      },
    );
  } finally {
    if (started) bar?.stop();
  }
  summary = { ...summary, skipped: summary.skipped.map(cliWords), failed: summary.failed.map(cliWords) };
  const nothing = summary.memorized + summary.unchanged === 0;
  if (cli.json) {
    cli.out({ ok: !nothing, root: toPosix(root), ...summary });
  } else {
    const w = (s: string) => process.stdout.write(s + '\n');
    w(
      `memorized ${summary.memorized} file(s) (${summary.chunks} chunk(s) compressed), ${summary.unchanged} unchanged, ` +
        `${summary.skipped.length} skipped, ${summary.failed.length} failed in ${(summary.elapsedMs / 1000).toFixed(1)} s`,
    );
    if (o.listSkipped || summary.skipped.length <= SKIPPED_LISTED) for (const s of summary.skipped) w(`  skipped ${s.path}: ${s.reason}`);
    else {
      w(`skipped, by reason (--list-skipped lists every file):`);
      for (const line of groupedSkips(summary.skipped)) w(line);
    }
    for (const f of summary.failed) w(`  FAILED  ${f.path}: ${f.reason}`);
    if (nothing) process.stderr.write('cmt: nothing was memorized (no readable text files among the given paths)\n');
  }
  return nothing ? EXIT.NOTHING : EXIT.OK;
}

interface AskCliOpts {
  answerMode?: AnswerMode;
  topK?: number;
  alpha?: number;
  maxTokens?: number;
  beams?: number;
  hybrid: boolean;
}

async function cmdAsk(cli: Cli, words: string[], o: AskCliOpts): Promise<number> {
  const question = words.join(' ');
  if (question.trim() === '') throw new CmtError('BAD_INPUT', 'the question is empty');
  const client = await cli.engine();
  let streamed = '';
  const res: AskResponse = await client.ask(
    question,
    { answerMode: o.answerMode, topK: o.topK, alpha: o.alpha, maxNewTokens: o.maxTokens, numBeams: o.beams, hybrid: o.hybrid },
    {
      signal: cli.signal,
      onToken: (t) => {
        streamed += t;
        if (!cli.json) process.stdout.write(t);
      },
    },
  );
  if (cli.json) {
    cli.out({ question, ...res });
    return EXIT.OK;
  }
  // The final answer is trimmed; the stream is its untrimmed form. Finish the line.
  if (streamed === '' && res.answer) process.stdout.write(res.answer);
  if (streamed === '' && !res.answer) process.stdout.write('(no answer)');
  process.stdout.write('\n');
  if (res.questionTruncated) {
    process.stderr.write(
      `note: the question was cut to ${res.questionTruncated.maxQuestionTokens} tokens (it had ${res.questionTruncated.tokens})\n`,
    );
  }
  // The grounding verdict, before the sources: never leave a guess looking like a fact.
  const g = res.grounding;
  if (g.noAnswer) process.stdout.write('(no answer: the output above is discarded)\n');
  process.stdout.write(g.verdict === 'found' ? '\nfound in source:\n' : `\nnot sure: ${g.message.replace(/^Not sure: /, '')}\n`);
  if (g.quotes.length) {
    if (g.verdict === 'not-sure') process.stdout.write('most relevant lines:\n');
    for (const q of g.quotes) process.stdout.write(`  ${q.path}:${q.line}  ${q.text}\n`);
  }
  if (res.citations.length === 0) {
    process.stdout.write('\n(no memories matched: the bank is empty? run `cmt memorize <paths>` first)\n');
  } else {
    process.stdout.write('\nsources:\n');
    for (const c of res.citations) {
      process.stdout.write(`  ${c.path}:${c.startLine}-${c.endLine}  score ${c.score.toFixed(3)}\n`);
    }
  }
  if (cli.verbose) {
    process.stderr.write(`timings: ${JSON.stringify(res.timings)}\n`);
  }
  return EXIT.OK;
}

async function cmdForget(cli: Cli, p: string, o: { root?: string }): Promise<number> {
  const root = path.resolve(o.root ?? process.cwd());
  const rel = toPosix(path.relative(root, path.resolve(p)));
  if (rel === '' || rel.startsWith('..')) throw new CmtError('BAD_INPUT', `${p} is not inside the workspace root ${root}`);
  const client = await cli.engine();
  const r = await client.forget(rel);
  if (cli.json) cli.out({ path: rel, ...r });
  else process.stdout.write(r.removed > 0 ? `forgot ${rel} (${r.removed} memories removed)\n` : `nothing memorized for ${rel}\n`);
  return EXIT.OK;
}

async function cmdStatus(cli: Cli): Promise<number> {
  const client = await cli.engine();
  const s = await client.status();
  if (cli.json) {
    cli.out(s);
  } else {
    const w = (k: string, v: string | number) => process.stdout.write(`${k.padEnd(10)} ${v}\n`);
    w('pack', `${s.packName} (${s.packId})`);
    w('device', `${s.provider}` + (s.providerReport.tried.some((t) => !t.ok) ? `  [tried: ${s.providerReport.tried.map((t) => `${t.name}${t.ok ? '' : ' failed: ' + (t.reason ?? '')}`).join('; ')}]` : ''));
    w('bank', s.bankUri);
    w('memories', `${s.memories} chunk(s) from ${s.files} file(s)`);
    w('on disk', formatBytes(s.bytesOnDisk));
  }
  return EXIT.OK;
}

interface McpCliOpts extends Omit<AskCliOpts, 'hybrid'> {
  root?: string;
  hybrid: boolean;
}

/**
 * `cmt mcp`: serves the bank to an MCP client on stdin/stdout until the client disconnects (or
 * Ctrl-C / SIGTERM). A relative --bank (and the default .cmt/bank) is resolved against --root. The
 * engine starts in the background at once; a missing pack is reported by each tool call, not at start.
 */
async function cmdMcp(cli: Cli, o: McpCliOpts): Promise<number> {
  const root = path.resolve(o.root ?? process.cwd());
  let isDir = false;
  try {
    isDir = fs.statSync(root).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) throw new CmtError('BAD_INPUT', `the workspace root ${root} is not a folder (--root)`);
  const { serveStdio } = await import('../mcp/server');
  const askDefaults: AskRequestOptions = { answerMode: o.answerMode, topK: o.topK, alpha: o.alpha, maxNewTokens: o.maxTokens, numBeams: o.beams, hybrid: o.hybrid };
  const engine = () => cli.engine({ maxRestarts: 5, bankBase: root });
  const server = await serveStdio({ root, engine, askDefaults, packDir: cli.packDir(), version: programVersion() });
  // Warm up (pack, sessions, bank) while the client lists the tools; errors come back with the first call.
  engine().catch(() => undefined);
  const stop = () => void server.close();
  cli.signal.addEventListener('abort', stop, { once: true });
  await server.closed;
  cli.signal.removeEventListener('abort', stop);
  return EXIT.OK;
}

async function cmdPacks(cli: Cli, dirs: string[]): Promise<number> {
  // pack.ts loads no native module (only the pure-JS tokenizer package).
  const { listPacks } = await import('../core/pack');
  const search = dirs.length > 0 ? dirs : [path.join(REPO_ROOT, 'packs'), ...(cli.explicitPack ? [cli.explicitPack] : [])];
  const packs = await listPacks(search.map((d) => path.resolve(d)));
  if (cli.json) {
    cli.out({ searched: search.map((d) => path.resolve(d)), default: DEFAULT_PACK, packs });
    return EXIT.OK;
  }
  if (packs.length === 0) {
    process.stdout.write(
      `no model packs found in ${search.map((d) => path.resolve(d)).join(', ')}\n` +
        `Build the default pack with \`npm run pack:default\` (or the test pack with \`npm run pack:tiny\`).\n`,
    );
    return EXIT.OK;
  }
  for (const p of packs) {
    const mark = p.dir === DEFAULT_PACK ? ' (default)' : '';
    if (!p.ok) {
      process.stdout.write(`${p.dir}${mark}\n  INVALID: ${p.error?.code} ${p.error?.message}\n`);
      continue;
    }
    const d = p.dims!;
    process.stdout.write(
      `${p.name} ${p.packId}${mark}\n  ${p.dir}\n` +
        `  ${d.architecture} ${d.numLayers}x${d.hiddenSize}, vocab ${d.vocabSize}; k=${d.memorySlots} d=${d.memoryDim} P=${d.prefixTokens}, ` +
        `${d.maxDocTokens} tokens/chunk, K<=${d.maxSelected}; ${formatBytes(p.sizeBytes ?? 0)}\n` +
        (p.description ? `  ${p.description}\n` : ''),
    );
  }
  return EXIT.OK;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const u = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${u[i]}`;
}

// ---------------------------------------------------------------------------------------------

function programVersion(): string {
  try {
    return JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).version;
  } catch {
    return '0.0.0';
  }
}

export function buildProgram(run: (fn: (cli: Cli) => Promise<number>) => Promise<void>): Command {
  const program = new Command();
  const version = programVersion();
  program
    .name('cmt')
    .description('CMT Memory: compress your files into memory vectors and ask questions about them, fully offline.')
    .version(version)
    .option('--pack <dir>', `model pack directory (default: the bundled pack, ${DEFAULT_PACK})`)
    .option('--bank <uri>', 'memory bank location (default: $CMT_BANK or ./.cmt/bank)')
    .addOption(new Option('--device <device>', 'execution device').choices([...DEVICES]).default('auto'))
    .option('--json', 'machine-readable JSON output on stdout, no progress bars')
    .option('-v, --verbose', "show the engine process's log on stderr")
    .showHelpAfterError('(run cmt --help for usage)')
    .addHelpText('after', EPILOGUE);

  const g = (cmd: Command): GlobalOpts => cmd.optsWithGlobals() as GlobalOpts;

  program
    .command('memorize')
    .description('compress files and folders into the memory bank (unchanged files cost nothing)')
    .argument('<paths...>', 'files or folders')
    .option('--root <dir>', 'workspace root; stored paths and citations are relative to it (default: cwd)')
    .option('--force', 're-compress files even when unchanged')
    .option('--include <glob>', 'force-include files matching this glob even if ignored (repeatable)', collect)
    .option('--exclude <glob>', 'skip files matching this glob (repeatable, gitignore syntax)', collect)
    .option('--max-file-size <size>', 'skip files larger than this (e.g. 1mb, 512k; default 1 MiB)', parseSize)
    .option('--list-skipped', `list every skipped file (default: one by one up to ${SKIPPED_LISTED}, else grouped by reason)`)
    .action(async (paths: string[], o) => {
      await run((cli) => cmdMemorize(cli, paths, o));
    });

  /** The answer options of `ask`, also taken by `mcp` (for its ask_memory tool). */
  const askOptions = (cmd: Command): Command =>
    cmd
      .addOption(
        new Option('--answer-mode <mode>', 'memory = CMT memory prefix alone; memory+chunk = prefix + the top chunk\'s text; top-chunk = the top chunk\'s text, no memory; rag = the top-K chunks\' text, no memory; closed-book (default: the pack default)')
          .choices([...ANSWER_MODES]),
      )
      .option('--top-k <n>', 'memories to retrieve (default: the pack default)', intArg('--top-k', 1))
      .option('--alpha <a>', 'memory-aware contrast strength, 0 = off (default: the pack default)', floatArg('--alpha'))
      .option('--max-tokens <n>', 'maximum answer tokens (default: the pack default)', intArg('--max-tokens', 1))
      .option('--beams <n>', 'beam search width, 1 = greedy (default: the pack default)', intArg('--beams', 1))
      .option('--no-hybrid', 'vector search only (default: vectors fused with full-text search)');

  askOptions(
    program
      .command('ask')
      .description('answer a question from the memorized files; streams the answer, then prints its sources')
      .argument('<question...>', 'the question (quote it)'),
  ).action(async (words: string[], o: AskCliOpts) => {
    await run((cli) => cmdAsk(cli, words, o));
  });

  program
    .command('forget')
    .description('remove a file (or every file under a folder) from the memory bank')
    .argument('<path>', 'file or folder')
    .option('--root <dir>', 'workspace root (default: cwd)')
    .action(async (p: string, o) => {
      await run((cli) => cmdForget(cli, p, o));
    });

  program
    .command('status')
    .description('show the pack, device and the memory bank size')
    .action(async () => {
      await run((cli) => cmdStatus(cli));
    });

  askOptions(
    program
      .command('mcp')
      .description('serve the memory bank to an agent: a Model Context Protocol server on stdin/stdout (tools search_memory, ask_memory, memorize, forget, memory_status)')
      .option('--root <dir>', 'workspace root: the only folder the tools read, and what paths are relative to (default: cwd); a relative --bank is resolved against it'),
  ).action(async (o: McpCliOpts) => {
    await run((cli) => cmdMcp(cli, o));
    // The engine is shut down; leave even if the client left stdin half-open.
    process.exit(process.exitCode ?? EXIT.OK);
  });

  program
    .command('packs')
    .description('list the model packs found (default: <repo>/packs)')
    .argument('[dirs...]', 'folders to search (each a pack or a folder of packs)')
    .action(async (dirs: string[]) => {
      await run((cli) => cmdPacks(cli, dirs));
    });

  // eval and bench: long-running measurements (docs/RESULTS.md) that run the engine in this process.
  // They take --pack from the global options and default to --device cpu unless it is given.
  const measure: MeasureContext = {
    pack: () => path.resolve(currentGlobalsOf(program).pack ?? DEFAULT_PACK),
    device: () => (program.getOptionValueSource('device') === 'default' ? 'cpu' : currentGlobalsOf(program).device),
    commandLine: () => ['cmt', ...process.argv.slice(2)].join(' '),
  };
  program.addCommand(measureCommand(evalCommand, measure));
  program.addCommand(measureCommand(benchCommand, measure));

  // Resolve global options at action time.
  program.hook('preAction', (_this, action) => {
    currentGlobals = g(action);
  });
  return program;
}

function currentGlobalsOf(program: Command): GlobalOpts {
  return program.opts() as GlobalOpts;
}

let currentGlobals: GlobalOpts = { device: 'auto' };

export async function main(argv: string[] = process.argv): Promise<void> {
  let cli: Cli | undefined;
  let interrupted = false;
  // First Ctrl-C: cancel the request (the engine stops at its next step and the bank stays
  // consistent), forced after 2 s; second Ctrl-C: kill the engine and leave at once.
  const onSigint = () => {
    if (interrupted) {
      cli?.killNow();
      process.exit(EXIT.INTERRUPTED);
    }
    interrupted = true;
    process.stderr.write('\ncmt: interrupted\n');
    cli?.cancel();
    setTimeout(() => {
      cli?.killNow();
      process.exit(EXIT.INTERRUPTED);
    }, 2000).unref();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  // Last line of defence: a stray rejection (e.g. inside a library) must not kill the CLI with a stack dump.
  process.on('unhandledRejection', (e) => {
    if (currentGlobals.verbose) process.stderr.write(`cmt: unhandled rejection: ${(e as Error)?.stack ?? e}\n`);
  });

  const run = async (fn: (cli: Cli) => Promise<number>): Promise<void> => {
    cli = new Cli(currentGlobals);
    let code: number;
    try {
      code = await fn(cli);
    } catch (e) {
      code = interrupted ? EXIT.INTERRUPTED : exitCodeFor(e);
      if (interrupted) {
        await cli.close();
        process.exitCode = code;
        return;
      }
      const caught = e instanceof CmtError ? e : new CmtError('INTERNAL', (e as Error)?.stack ?? String(e));
      const err = CLI_FIXES[caught.code] ? new CmtError(caught.code, caught.message + CLI_FIXES[caught.code]) : caught;
      if (cli.json) {
        cli.out({ error: { code: err.code, message: err.message }, exitCode: code });
      } else {
        process.stderr.write(`cmt: ${err.message}${err.code === 'INTERNAL' ? '' : ` [${err.code}]`}\n`);
      }
      if (err.code === 'ENGINE_CRASHED' || err.code === 'INTERNAL') {
        const tail = cli.engineLog().slice(-10);
        if (tail.length && !currentGlobals.verbose) process.stderr.write(`engine log (last lines):\n  ${tail.join('\n  ')}\n`);
      }
    }
    await cli.close();
    process.exitCode = code;
  };

  const program = buildProgram(run);
  await program.parseAsync(argv);
  process.off('SIGINT', onSigint);
  process.off('SIGTERM', onSigint);
}

const entry = require.main?.filename ?? '';
if (require.main === module || /[\\/]bin[\\/]cmt(\.js)?$/.test(entry)) {
  void main();
}
