// dist/mcp.js: the MCP server the VS Code extension offers VS Code (lm.registerMcpServerDefinitionProvider).
// It is `cmt mcp` without the CLI around it, and without an engine of its own: its tools reach the
// extension's engine through the relay (relay.ts), whose socket and token come in the environment.
//   node dist/mcp.js --root <workspace folder>     (CMT_MCP_RELAY, CMT_MCP_RELAY_TOKEN set by the extension)
import { parseArgs } from 'node:util';
import * as path from 'node:path';
import { RELAY_ENV, RELAY_TOKEN_ENV, RelayEngine } from './relay';
import { serveStdio } from './server';

export async function main(argv = process.argv.slice(2)): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { root: { type: 'string' }, version: { type: 'string' } }, strict: true });
  const sock = process.env[RELAY_ENV];
  const token = process.env[RELAY_TOKEN_ENV];
  if (!sock || !token) {
    process.stderr.write(`cmt mcp (extension): ${RELAY_ENV} and ${RELAY_TOKEN_ENV} are not set; this server is started by the CMT Memory extension. Outside VS Code, run \`cmt mcp\`.\n`);
    return 1;
  }
  const root = path.resolve(values.root ?? process.cwd());
  const engine = new RelayEngine(sock, token);
  const server = await serveStdio({ root, engine: () => Promise.resolve(engine), version: values.version ?? '0.0.0' });
  const stop = () => void server.close();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await server.closed;
  engine.dispose();
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`cmt mcp (extension): ${(e as Error)?.stack ?? e}\n`);
      process.exit(1);
    },
  );
}
