// Bundles the VS Code extension (src/extension), the engine process (src/core/server.ts), the MCP
// server the extension offers VS Code (src/mcp/main.ts -> dist/mcp.js) and the chat webview's browser
// script (src/webview/chat.ts -> dist/webview/chat.js) with esbuild.
//   node scripts/build-extension.mjs [--production] [--watch]
// Native modules stay external and are loaded from node_modules at run time (shipped in the .vsix):
// @lancedb/lancedb, onnxruntime-node, and apache-arrow (must be the very copy LanceDB uses).
import * as esbuild from 'esbuild';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: production ? false : 'linked',
  minify: production,
  keepNames: true,
  logLevel: 'warning',
  absWorkingDir: root,
  // @vscode/tree-sitter-wasm loads its .wasm files from its own folder (shipped in the .vsix).
  external: ['vscode', '@lancedb/lancedb', 'onnxruntime-node', 'apache-arrow', '@vscode/tree-sitter-wasm'],
};

const configs = [
  { ...common, entryPoints: { extension: 'src/extension/extension.ts' }, outdir: 'dist' },
  { ...common, entryPoints: { server: 'src/core/server.ts' }, outdir: 'dist' },
  // the MCP server VS Code starts for the extension (lm.registerMcpServerDefinitionProvider); it talks to the extension's engine
  { ...common, entryPoints: { mcp: 'src/mcp/main.ts' }, outdir: 'dist' },
  // the webview: a browser script, no node built-ins, no externals
  { ...common, platform: 'browser', target: 'es2022', format: 'iife', external: [], entryPoints: { chat: 'src/webview/chat.ts' }, outdir: 'dist/webview' },
];

// The webview's icon font: codicon.css + codicon.ttf from @vscode/codicons -> dist/codicons/
// (loaded through webview.asWebviewUri; shipped by .vscodeignore; allowed by the CSP's font-src).
function copyCodicons() {
  const src = path.join(root, 'node_modules', '@vscode', 'codicons', 'dist');
  const dst = path.join(root, 'dist', 'codicons');
  fs.mkdirSync(dst, { recursive: true });
  for (const f of ['codicon.css', 'codicon.ttf']) fs.copyFileSync(path.join(src, f), path.join(dst, f));
}

const t0 = Date.now();
copyCodicons();
if (watch) {
  for (const c of configs) await (await esbuild.context(c)).watch();
  console.log('build-extension: watching…');
} else {
  const results = await Promise.all(configs.map((c) => esbuild.build({ ...c, metafile: true })));
  const sizes = results.flatMap((r) => Object.entries(r.metafile.outputs).filter(([f]) => f.endsWith('.js')).map(([f, o]) => `${f} ${(o.bytes / 1024).toFixed(0)} KiB`));
  console.log(`build-extension: ${sizes.join(', ')} in ${Date.now() - t0} ms${production ? ' (production)' : ''}`);
}
