// `cmt mcp`: the memory bank as a Model Context Protocol server over stdio, built on the official
// TypeScript SDK (@modelcontextprotocol/sdk). One server serves one bank and one workspace root
// through the same engine process (EngineClient -> src/core/server.ts) the CLI and the editor use.
// The tools and their errors are in tools.ts, their schemas in toolSchemas.ts.
//
// stdout carries only MCP messages: console output goes to stderr while the server runs. The server
// ends when the client closes stdin (or dies: the pipe closes the same way), when stdout breaks, or
// on close(); in-flight requests are aborted then (the engine stops a memorize between files; the
// bank's commits are atomic, so nothing memorized is lost and nothing half-written is kept).
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { McpEngine, ServerState, ToolContext, ToolError, toolError, TOOLS } from './tools';
import { describeIssues, jsonSchemaOf } from './toolSchemas';

export interface McpServerOptions extends ToolContext {
  /** Reported to the client in initialize (serverInfo.version). */
  version: string;
  /** One line per event (start, stop), on stderr by default. */
  log?: (line: string) => void;
}

/** The server's instructions to the client's model (sent in initialize). */
function instructions(root: string): string {
  return (
    `CMT Memory is a local, private memory of the user's files under ${root} (nothing leaves the machine). ` +
    'Use search_memory to find where something is defined, configured or explained (fast: paths, lines and text); ' +
    'use ask_memory for a short answer with a grounding verdict (when it says not-sure, read the quoted lines). ' +
    'If a tool says NOTHING_MEMORIZED, call memorize with ["."] (the workspace root) or the folders that matter first.'
  );
}

/** An MCP Server (SDK, low-level) with the memory tools registered; connect it to any transport. */
export function createMcpServer(opts: McpServerOptions): Server {
  const server = new Server({ name: 'cmt-memory', title: 'CMT Memory', version: opts.version }, { capabilities: { tools: {} }, instructions: instructions(opts.root) });
  const state: ServerState = {};
  // A crashed engine (it gave up restarting) is started again by the next call.
  const engine = async (): Promise<McpEngine> => {
    const e = await opts.engine();
    if (e.state === 'crashed') await e.restart();
    return e;
  };
  const ctx: ToolContext = { ...opts, engine };
  let lastEngine: McpEngine | undefined;
  const tracked = async (): Promise<McpEngine> => (lastEngine = await engine());
  const byName = new Map(TOOLS.map((t) => [t.name, t]));

  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: TOOLS.map((t) => ({
      name: t.name,
      title: t.title,
      description: t.description,
      inputSchema: jsonSchemaOf(t.input, 'input'),
      outputSchema: jsonSchemaOf(t.output, 'output'),
      annotations: { title: t.title, ...t.annotations },
    })),
  }));

  server.setRequestHandler(CallToolRequestSchema, async (req, extra) => {
    const tool = byName.get(req.params.name);
    if (!tool) throw new McpError(ErrorCode.InvalidParams, `unknown tool ${JSON.stringify(req.params.name)}; the tools are ${TOOLS.map((t) => t.name).join(', ')}`);
    const parsed = tool.input.safeParse(req.params.arguments ?? {});
    if (!parsed.success) return toolError(new ToolError('BAD_INPUT', describeIssues(tool.name, parsed.error)), ctx);
    const token = req.params._meta?.progressToken;
    const progress =
      token === undefined
        ? undefined
        : (done: number, total: number, message: string) =>
            void extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: done, total, message } }).catch(() => undefined);
    try {
      return await tool.run(parsed.data, { ...ctx, engine: tracked }, { signal: extra.signal, progress }, state);
    } catch (e) {
      return toolError(e, ctx, lastEngine?.state);
    }
  });
  return server;
}

export interface StdioStreams {
  stdin: NodeJS.ReadableStream & { on(ev: 'end' | 'close', fn: () => void): unknown };
  stdout: NodeJS.WritableStream;
}

export interface RunningServer {
  /** Resolves once the connection is closed (client gone, stdout broken, or close()). */
  closed: Promise<void>;
  close(): Promise<void>;
}

/**
 * Serves the tools on stdin/stdout. While it runs, console.log/info/debug/warn write to stderr (one
 * stray console.log on stdout would break the protocol).
 */
export async function serveStdio(opts: McpServerOptions, io: StdioStreams = { stdin: process.stdin, stdout: process.stdout }): Promise<RunningServer> {
  const log = opts.log ?? ((l: string) => void process.stderr.write(`[cmt-mcp] ${l}\n`));
  const restoreConsole = io.stdout === process.stdout ? consoleToStderr() : () => undefined;
  const server = createMcpServer(opts);
  const transport = new StdioServerTransport(io.stdin as NodeJS.ReadStream, io.stdout as NodeJS.WriteStream);
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let closing = false;
  const close = async (why?: string): Promise<void> => {
    if (closing) return closed;
    closing = true;
    if (why) log(why);
    await server.close().catch(() => undefined);
    return closed;
  };
  server.onclose = () => {
    restoreConsole();
    resolveClosed();
  };
  await server.connect(transport);
  io.stdin.on('end', () => void close('client closed the connection'));
  io.stdin.on('close', () => void close('client closed the connection'));
  io.stdout.on('error', () => void close('stdout closed'));
  log(`serving ${opts.root} over stdio (tools: ${TOOLS.map((t) => t.name).join(', ')})`);
  return { closed, close: () => close('closing') };
}

function consoleToStderr(): () => void {
  const saved = { log: console.log, info: console.info, debug: console.debug, warn: console.warn };
  const toErr = (...a: unknown[]) => void process.stderr.write(a.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(' ') + '\n');
  console.log = toErr;
  console.info = toErr;
  console.debug = toErr;
  console.warn = toErr;
  return () => Object.assign(console, saved);
}
