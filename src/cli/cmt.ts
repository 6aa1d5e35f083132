// `cmt` — memorize files into a CMT memory bank and ask questions about them, from a terminal.
//
// Engine placement: memorize/ask/forget/rename/status run the engine in a CHILD PROCESS through
// EngineClient (src/core/client.ts), not in this process. The engine loads native code (LanceDB,
// onnxruntime); a native crash (SIGILL on a CPU without AVX2, SIGSEGV, OOM kill) would otherwise kill
// the CLI with no message. Through the client the CLI always gets a clean ENGINE_CRASHED /
// CPU_UNSUPPORTED error with the engine's last log lines, and exits with a documented code.
// `cmt packs` only reads pack.json files and needs no engine. `cmt mcp` serves the same engine to an
// agent over the Model Context Protocol (src/mcp/server.ts) until the client disconnects.
// `cmt eval` and `cmt bench` run the engine in this process (measure.ts).
//
// This file: the program (global options, commands, help) and main(); cli.ts: a run's state and
// exit codes; commands.ts: the engine commands; options.ts: the option parsers.

import * as path from 'node:path';
import { Command, Option } from 'commander';
import { ANSWER_MODES, CmtError, DEVICES } from '../core/types';
import { benchCommand } from '../bench/command';
import { evalCommand } from '../eval/command';
import type { MeasureContext } from '../measure/options';
import { Cli, CLI_FIXES, DEFAULT_PACK, EXIT, exitCodeFor, GlobalOpts, programVersion } from './cli';
import { AskCliOpts, cmdAsk, cmdForget, cmdMcp, cmdMemorize, cmdPacks, cmdStatus, McpCliOpts, MemorizeCliOpts, SKIPPED_LISTED } from './commands';
import { measureCommand } from './measure';
import { collect, floatArg, intArg, parseSize } from './options';

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
  CMT_BANK     default memory bank location (else ./.cmt/bank); s3://, gs://, az:// banks
               take their credentials from the standard places (AWS_*, profiles, the default chain)
  CMT_THREADS  ONNX Runtime threads per graph

Examples:
  cmt memorize src docs notes.md
  cmt ask "Which port does the API server listen on?"
  cmt ask --json --top-k 4 "When is the go-live?"
  cmt forget docs/old-design.md
  cmt status`;

type Run = (fn: (cli: Cli) => Promise<number>) => Promise<void>;

/** The answer options of `ask`, also taken by `mcp` (for its ask_memory tool). */
function askOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--answer-mode <mode>', 'memory = CMT memory prefix alone; memory+chunk = prefix + the top chunk\'s text; top-chunk = the top chunk\'s text, no memory; rag = the top-K chunks\' text, no memory; closed-book (default: the pack default)')
        .choices([...ANSWER_MODES]),
    )
    .option('--top-k <n>', 'memories to retrieve (default: the pack default)', intArg('--top-k', 1))
    .option('--alpha <a>', 'memory-aware contrast strength, 0 = off (default: the pack default)', floatArg('--alpha'))
    .option('--max-tokens <n>', 'maximum answer tokens (default: the pack default)', intArg('--max-tokens', 1))
    .option('--beams <n>', 'beam search width, 1 = greedy (default: the pack default)', intArg('--beams', 1))
    .option('--no-hybrid', 'vector search only (default: vectors fused with full-text search)');
}

/** memorize, ask, forget, status, mcp, packs (commands.ts). */
function addEngineCommands(program: Command, run: Run): void {
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
    .action(async (paths: string[], o: MemorizeCliOpts) => {
      await run((cli) => cmdMemorize(cli, paths, o));
    });

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
    .action(async (p: string, o: { root?: string }) => {
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
}

/** eval and bench: long-running measurements (docs/RESULTS.md) that run the engine in this process. */
function addMeasureCommands(program: Command): void {
  // They take --pack from the global options and default to --device cpu unless it is given.
  const measure: MeasureContext = {
    pack: () => path.resolve(currentGlobalsOf(program).pack ?? DEFAULT_PACK),
    device: () => (program.getOptionValueSource('device') === 'default' ? 'cpu' : currentGlobalsOf(program).device),
    commandLine: () => ['cmt', ...process.argv.slice(2)].join(' '),
  };
  program.addCommand(measureCommand(evalCommand, measure));
  program.addCommand(measureCommand(benchCommand, measure));
}

export function buildProgram(run: Run): Command {
  const program = new Command();
  const version = programVersion();
  program
    .name('cmt')
    .description('CMT Memory: compress your files into memory vectors and ask questions about them, fully offline.')
    .version(version)
    .option('--pack <dir>', `model pack directory (default: the bundled pack, ${DEFAULT_PACK})`)
    .option('--bank <uri>', 'memory bank location: a folder, or s3://, s3+ddb://, gs://, az:// on object storage (default: $CMT_BANK or ./.cmt/bank)')
    .option('--read-only', 'never write the bank (memorize/forget fail, no compaction; also CMT_BANK_READ_ONLY=1)')
    .option('--bank-endpoint <url>', "the object store's endpoint, for S3-compatible stores (also CMT_BANK_ENDPOINT)")
    .option('--bank-region <region>', "the object store's region (also CMT_BANK_REGION)")
    .option('--bank-replica <on|off|dir>', "copy an object-store bank to this machine for reading: on (the default, in the user's cache folder), off, or a folder (also CMT_BANK_REPLICA)")
    .addOption(new Option('--device <device>', 'execution device').choices([...DEVICES]).default('auto'))
    .option('--json', 'machine-readable JSON output on stdout, no progress bars')
    .option('-v, --verbose', "show the engine process's log on stderr")
    .showHelpAfterError('(run cmt --help for usage)')
    .addHelpText('after', EPILOGUE);

  addEngineCommands(program, run);
  addMeasureCommands(program);

  // Resolve global options at action time.
  program.hook('preAction', (_this, action) => {
    currentGlobals = action.optsWithGlobals<GlobalOpts>();
  });
  return program;
}

function currentGlobalsOf(program: Command): GlobalOpts {
  return program.opts<GlobalOpts>();
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
    if (currentGlobals.verbose) process.stderr.write(`cmt: unhandled rejection: ${(e as Error)?.stack ?? String(e)}\n`);
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
