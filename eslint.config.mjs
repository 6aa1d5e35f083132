// Lint: typescript-eslint's recommended type-checked rules (a few exceptions below, each with its reason),
// the layer rules (what may import what) and the promise rules. Run by `npm run lint` and `npm test`.
//   src/core      the engine: imports no `vscode`, and nothing from the front ends (extension, cli, eval, bench)
//   src/eval, src/bench  share src/measure, never import each other
//   src/webview   the chat view's browser script: imports no `vscode` and no node built-ins
//   src/mcp       the MCP server (`cmt mcp`): imports src/core only, no `vscode`, no other front end
// No import circle anywhere in src/ (import-x/no-cycle).
// Size: in all of src/ a file has at most 450 lines and a function at most 80 (blank and comment lines
// aside): split by concept when one grows past them.
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

const frontEnds = ['extension', 'cli', 'eval', 'bench', 'measure', 'webview', 'mcp'];

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', 'training/**', 'packs/**', 'artifacts/**', 'media/**', 'e2e/**', 'scripts/**', 'bin/**', '**/*.js', '**/*.mjs'] },
  {
    files: ['src/**/*.ts', 'test/**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // node:test's test()/describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] }],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-require-imports': 'error',
      // A name that must be there but is not used (a for-of variable, an interface's parameter) says so with a leading _.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // Tests read untyped JSON (the CLI's --json output, MCP results, package.json, eval reports) and
  // poke at stubs and private state: their assertions check those shapes at run time.
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // Fakes implement the engine's async interfaces: `async` keeps a throw a rejection, as in the real thing.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'vscode', message: 'src/core is the engine for every front end: no vscode import.' }],
        patterns: [{ group: frontEnds.map((f) => `**/${f}/**`).concat(frontEnds.map((f) => `../${f}`)), message: 'src/core must not import a front end (extension, cli, eval, bench, measure, webview, mcp).' }],
      }],
    },
  },
  // eval and bench share src/measure (metrics, reports, machine info, scratch bank), never each other.
  {
    files: ['src/eval/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['../bench', '../bench/*', '../cli/*', '../extension/*'], message: 'eval shares code with bench through src/measure only.' }] }] },
  },
  {
    files: ['src/bench/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['../eval', '../eval/*', '../cli/*', '../extension/*'], message: 'bench shares code with eval through src/measure only.' }] }] },
  },
  {
    files: ['src/measure/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['../eval', '../eval/*', '../bench', '../bench/*', '../cli/*', '../extension/*'], message: 'src/measure is shared by eval and bench: it imports neither.' }] }] },
  },
  // The MCP server runs in the CLI's process and in its own bundle (dist/mcp.js): engine code only.
  {
    files: ['src/mcp/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'vscode', message: 'src/mcp runs outside VS Code (cmt mcp, dist/mcp.js): no vscode import.' }],
        patterns: [{ group: ['../extension', '../extension/*', '../cli', '../cli/*', '../eval', '../eval/*', '../bench', '../bench/*', '../measure', '../measure/*', '../webview', '../webview/*'], message: 'src/mcp imports src/core only.' }],
      }],
    },
  },
  // No import circle in src/: modules form layers, each understood (and loaded) after what it imports.
  // `import type` is erased by the compiler and does not count. Relative imports resolve to the .ts
  // sources with the plugin's node resolver (no path aliases, so no TypeScript resolver needed).
  {
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts'],
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.json', '.node'] })],
    },
    rules: { 'import-x/no-cycle': 'error' },
  },
  // Small files and small functions in all of src/ (see the header; tests are exempt).
  {
    files: ['src/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 450 }],
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    files: ['src/webview/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'vscode', message: 'The webview runs in a browser: no vscode import (talk to the extension with postMessage).' }],
        patterns: [{ group: ['node:*', '../core/*', '!../core/types'], message: 'The webview runs in a browser: no node modules, no engine code (its messages: protocol.ts; the engine\'s types: core/types.ts).' }],
      }],
    },
  },
);
