// The engine commands of `cmt`: memorize, ask, forget, status, mcp, packs. Each returns its exit code.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AskRequestOptions, AskResponse, MemorizeSummary } from '../core/protocol';
import { rewordIssue, SkipReason } from '../core/files';
import { toPosix } from '../core/paths';
import { AnswerMode, CmtError } from '../core/types';
import { Cli, DEFAULT_PACK, EXIT, programVersion, REPO_ROOT } from './cli';

/** The CLI's own fix for skip reasons the engine words without one. */
const CLI_SKIP_WORDS: Partial<Record<SkipReason, string>> = {
  excluded: 'excluded (default or --exclude rules)',
  secret: 'may hold secrets (.env, keys, credentials); force with --include',
};
const cliWords = <T extends { code?: string; reason: string }>(i: T): T => rewordIssue(i, CLI_SKIP_WORDS);

/** Skipped files listed one by one up to this many; above it, grouped by reason with a few examples (`--list-skipped`: all). */
export const SKIPPED_LISTED = 10;

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

export interface MemorizeCliOpts {
  root?: string;
  force?: boolean;
  include?: string[];
  exclude?: string[];
  maxFileSize?: number;
  listSkipped?: boolean;
}

export async function cmdMemorize(cli: Cli, paths: string[], o: MemorizeCliOpts): Promise<number> {
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
    if (nothing) process.stderr.write(`cmt: nothing was memorized (${nothingReason(summary, root)})\n`);
  }
  return nothing ? EXIT.NOTHING : EXIT.OK;
}

/** Why a memorize run took nothing: every path outside the root says so and how to fix it. */
export function nothingReason(summary: Pick<MemorizeSummary, 'skipped' | 'failed'>, root: string): string {
  const outside = summary.skipped.filter((s) => s.reason.startsWith('outside the workspace root'));
  if (outside.length > 0 && outside.length === summary.skipped.length && summary.failed.length === 0) {
    return `the given paths are outside the workspace root ${toPosix(root)}: run cmt from the project's folder or pass --root <folder>`;
  }
  return 'no readable text files among the given paths';
}

export interface AskCliOpts {
  answerMode?: AnswerMode;
  topK?: number;
  alpha?: number;
  maxTokens?: number;
  beams?: number;
  hybrid: boolean;
}

export async function cmdAsk(cli: Cli, words: string[], o: AskCliOpts): Promise<number> {
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

export async function cmdForget(cli: Cli, p: string, o: { root?: string }): Promise<number> {
  const root = path.resolve(o.root ?? process.cwd());
  const rel = toPosix(path.relative(root, path.resolve(p)));
  if (rel === '' || rel.startsWith('..')) throw new CmtError('BAD_INPUT', `${p} is not inside the workspace root ${root}`);
  const client = await cli.engine();
  const r = await client.forget(rel);
  if (cli.json) cli.out({ path: rel, ...r });
  else process.stdout.write(r.removed > 0 ? `forgot ${rel} (${r.removed} memories removed)\n` : `nothing memorized for ${rel}\n`);
  return EXIT.OK;
}

export async function cmdStatus(cli: Cli): Promise<number> {
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

export interface McpCliOpts extends Omit<AskCliOpts, 'hybrid'> {
  root?: string;
  hybrid: boolean;
}

/**
 * `cmt mcp`: serves the bank to an MCP client on stdin/stdout until the client disconnects (or
 * Ctrl-C / SIGTERM). A relative --bank (and the default .cmt/bank) is resolved against --root. The
 * engine starts in the background at once; a missing pack is reported by each tool call, not at start.
 */
export async function cmdMcp(cli: Cli, o: McpCliOpts): Promise<number> {
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

export async function cmdPacks(cli: Cli, dirs: string[]): Promise<number> {
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
        `Build the default pack with \`npm run pack:build\` (or the test pack with \`npm run pack:tiny\`).\n`,
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
