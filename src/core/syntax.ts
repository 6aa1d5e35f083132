// What a file defines, and where: functions, classes, methods, constants (parsed with tree-sitter,
// the grammars VS Code itself ships as WebAssembly in @vscode/tree-sitter-wasm: no native build, one
// runtime for every platform), config keys and Markdown headings (by line rules: their syntax is
// a line's). chunk.ts splits source at these definitions and names each chunk's enclosing symbol;
// the bank indexes the names a chunk defines so a question that names an identifier reaches the
// chunk that defines it ahead of the call sites that merely use it.
import * as path from 'node:path';

/** One definition; lines are 0-based and inclusive, `start` includes decorators and the doc comment above. */
export interface Definition {
  name: string;
  /** Dotted path of enclosing definitions and this one (`Session.send`, `[tool.pytest.ini_options].testpaths`). */
  qualified: string;
  kind: 'function' | 'class' | 'method' | 'constant' | 'type' | 'module' | 'key' | 'heading';
  start: number;
  end: number;
  /** The definitions directly inside this one (methods of a class). */
  children: Definition[];
}

type Lang = 'python' | 'javascript' | 'typescript' | 'tsx' | 'rust' | 'go' | 'java';

const LANG_OF_EXT: Record<string, Lang> = {
  py: 'python', pyi: 'python', pyw: 'python',
  js: 'javascript', mjs: 'javascript', cjs: 'javascript', jsx: 'javascript',
  ts: 'typescript', mts: 'typescript', cts: 'typescript', tsx: 'tsx',
  rs: 'rust', go: 'go', java: 'java',
};

const extOf = (relPath: string) => {
  const base = relPath.split(/[\\/]/).pop() ?? relPath;
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : '';
};

/** The tree-sitter language for a path, or null (not source code tree-sitter is used for). */
export function languageOf(relPath: string): Lang | null {
  return LANG_OF_EXT[extOf(relPath)] ?? null;
}

// The few parts of web-tree-sitter's API used here (its bundled .d.ts is not a module TypeScript can import).
interface TsNode {
  type: string;
  text: string;
  startPosition: { row: number };
  endPosition: { row: number; column: number };
  namedChildren: Array<TsNode | null>;
  previousNamedSibling: TsNode | null;
  childForFieldName(name: string): TsNode | null;
}
interface TsParser {
  setLanguage(l: unknown): void;
  parse(text: string): { rootNode: TsNode; delete(): void } | null;
}
interface TreeSitter {
  Parser: { init(o: { locateFile: (f: string) => string }): Promise<void>; new (): TsParser };
  Language: { load(file: string): Promise<unknown> };
}

let runtime: Promise<{ ts: TreeSitter; dir: string }> | null = null;
const parsers = new Map<Lang, Promise<TsParser | null>>();

function loadRuntime(): Promise<{ ts: TreeSitter; dir: string }> {
  runtime ??= (async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ts = require('@vscode/tree-sitter-wasm') as TreeSitter;
    const dir = path.dirname(require.resolve('@vscode/tree-sitter-wasm'));
    await ts.Parser.init({ locateFile: (f: string) => path.join(dir, f) });
    return { ts, dir };
  })();
  return runtime;
}

/** A parser for `lang`; null when its grammar cannot be loaded (the caller then splits by lines). */
function parserFor(lang: Lang): Promise<TsParser | null> {
  let p = parsers.get(lang);
  if (!p) {
    p = (async () => {
      try {
        const { ts, dir } = await loadRuntime();
        const language = await ts.Language.load(path.join(dir, `tree-sitter-${lang}.wasm`));
        const parser = new ts.Parser();
        parser.setLanguage(language);
        return parser;
      } catch {
        return null;
      }
    })();
    parsers.set(lang, p);
  }
  return p;
}

/** Files above this size are split by lines only (parsing is linear, but a generated 1 MB file gains nothing). */
const MAX_PARSE_CHARS = 400_000;

/**
 * The definitions of a file (top level, each with its children), or null when the file is not
 * something this module understands. Never throws: a parse failure is null.
 */
export async function definitionsOf(relPath: string, text: string): Promise<Definition[] | null> {
  const lang = languageOf(relPath);
  if (lang) {
    if (text.length > MAX_PARSE_CHARS) return null;
    const parser = await parserFor(lang);
    if (!parser) return null;
    try {
      const tree = parser.parse(text);
      if (!tree) return null;
      try {
        return collect(tree.rootNode, lang, '', 0);
      } finally {
        tree.delete();
      }
    } catch {
      return null;
    }
  }
  return lineDefinitions(relPath, text);
}

// ---------------------------------------------------------------------------------------------
// tree-sitter definitions

const COMMENT = /comment/;

/** The first row of a definition: its decorators and the comments right above it. */
function startRow(n: TsNode): number {
  let row = n.startPosition.row;
  for (let s = n.previousNamedSibling; s && COMMENT.test(s.type) && s.endPosition.row >= row - 2; s = s.previousNamedSibling) row = s.startPosition.row;
  return row;
}

function endRow(n: TsNode): number {
  // A node ending at column 0 ends on the line before (a trailing newline belongs to it).
  return n.endPosition.column === 0 && n.endPosition.row > n.startPosition.row ? n.endPosition.row - 1 : n.endPosition.row;
}

const nameText = (n: TsNode | null | undefined) => (n ? n.text.replace(/\s+/g, '') : '');

interface Found {
  name: string;
  kind: Definition['kind'];
  /** The node whose named children may hold nested definitions. */
  body: TsNode | null;
}

/** A JS/TS value that makes its binding a function (`const f = () => …`, `x.y = function …`, a class expression). */
const holdsFunction = (v: TsNode | null | undefined) => !!v && /function|arrow_function|class/.test(v.type);

/** Whether node `n` is a definition in `lang`, and its name. */
function definitionOf(n: TsNode, lang: Lang, inClass: boolean): Found | null {
  switch (lang) {
    case 'python':
      return pythonDefinition(n, inClass);
    case 'javascript':
    case 'typescript':
    case 'tsx':
      return scriptDefinition(n);
    case 'rust':
      return rustDefinition(n, inClass);
    case 'go':
      return goDefinition(n);
    case 'java':
      return javaDefinition(n);
  }
}

/** Python: functions (methods in a class), classes, module-level assignments; decorators looked through. */
function pythonDefinition(n: TsNode, inClass: boolean): Found | null {
  const field = (f: string) => n.childForFieldName(f);
  if (n.type === 'decorated_definition') {
    const d = field('definition');
    return d ? pythonDefinition(d, inClass) : null;
  }
  if (n.type === 'function_definition') return { name: nameText(field('name')), kind: inClass ? 'method' : 'function', body: null };
  if (n.type === 'class_definition') return { name: nameText(field('name')), kind: 'class', body: field('body') };
  if (n.type === 'expression_statement') {
    const a = n.namedChildren[0];
    if (a && a.type === 'assignment') {
      const left = a.childForFieldName('left');
      if (left && left.type === 'identifier') return { name: left.text, kind: 'constant', body: null };
    }
  }
  return null;
}

/** JavaScript and TypeScript: declarations (exported or ambient too), class members, `const f = () => …`, `exports.x = …`. */
function scriptDefinition(n: TsNode): Found | null {
  const field = (f: string) => n.childForFieldName(f);
  switch (n.type) {
    case 'export_statement': {
      const d = field('declaration');
      return d ? scriptDefinition(d) : null;
    }
    case 'ambient_declaration': {
      const d = n.namedChildren.find((c) => c && c.type !== 'comment');
      return d ? scriptDefinition(d) : null;
    }
    case 'function_declaration':
    case 'generator_function_declaration':
    case 'function_signature':
      return { name: nameText(field('name')), kind: 'function', body: null };
    case 'class_declaration':
    case 'abstract_class_declaration':
    case 'class':
      return { name: nameText(field('name')), kind: 'class', body: field('body') };
    case 'interface_declaration':
      return { name: nameText(field('name')), kind: 'type', body: field('body') };
    case 'type_alias_declaration':
    case 'enum_declaration':
      return { name: nameText(field('name')), kind: 'type', body: null };
    case 'internal_module':
    case 'module':
      return { name: nameText(field('name')), kind: 'module', body: field('body') };
    case 'method_definition':
    case 'method_signature':
    case 'abstract_method_signature':
      return { name: nameText(field('name')), kind: 'method', body: null };
    case 'public_field_definition':
    case 'field_definition':
    case 'property_signature':
      return { name: nameText(field('name') ?? field('property')), kind: 'constant', body: null };
    case 'lexical_declaration':
    case 'variable_declaration': {
      const d = n.namedChildren.find((c) => c?.type === 'variable_declarator');
      const name = d?.childForFieldName('name');
      if (!name || name.type !== 'identifier') return null;
      return { name: name.text, kind: holdsFunction(d?.childForFieldName('value')) ? 'function' : 'constant', body: null };
    }
    case 'expression_statement': {
      // `exports.x = …`, `app.listen = function listen() {…}`, `module.exports = …`
      const a = n.namedChildren[0];
      if (!a || a.type !== 'assignment_expression') return null;
      const left = a.childForFieldName('left');
      if (!left || left.type !== 'member_expression') return null;
      const prop = nameText(left.childForFieldName('property'));
      const obj = nameText(left.childForFieldName('object'));
      if (!prop || prop === 'exports') return null;
      const kind = holdsFunction(a.childForFieldName('right')) ? 'function' : 'constant';
      return { name: obj && obj !== 'exports' && obj !== 'module.exports' ? `${obj}.${prop}` : prop, kind, body: null };
    }
  }
  return null;
}

/** Rust: functions (methods in an impl or trait), types, traits, impls, modules, constants, macros. */
function rustDefinition(n: TsNode, inClass: boolean): Found | null {
  const field = (f: string) => n.childForFieldName(f);
  switch (n.type) {
    case 'function_item':
    case 'function_signature_item':
      return { name: nameText(field('name')), kind: inClass ? 'method' : 'function', body: null };
    case 'struct_item':
    case 'enum_item':
    case 'union_item':
    case 'type_item':
      return { name: nameText(field('name')), kind: 'type', body: null };
    case 'trait_item':
      return { name: nameText(field('name')), kind: 'type', body: field('body') };
    case 'impl_item':
      return { name: nameText(field('type')), kind: 'class', body: field('body') };
    case 'mod_item':
      return { name: nameText(field('name')), kind: 'module', body: field('body') };
    case 'const_item':
    case 'static_item':
      return { name: nameText(field('name')), kind: 'constant', body: null };
    case 'macro_definition':
      return { name: nameText(field('name')), kind: 'function', body: null };
  }
  return null;
}

/** Go: functions, methods, and the first name of a type, const or var declaration. */
function goDefinition(n: TsNode): Found | null {
  const field = (f: string) => n.childForFieldName(f);
  switch (n.type) {
    case 'function_declaration':
    case 'method_declaration':
      return { name: nameText(field('name')), kind: n.type === 'method_declaration' ? 'method' : 'function', body: null };
    case 'type_declaration':
    case 'const_declaration':
    case 'var_declaration': {
      const spec = n.namedChildren.find((c) => c && /_spec$/.test(c.type));
      const name = spec?.childForFieldName('name');
      return name ? { name: nameText(name), kind: n.type === 'type_declaration' ? 'type' : 'constant', body: null } : null;
    }
  }
  return null;
}

/** Java: classes, interfaces, enums, records, methods, constructors, fields. */
function javaDefinition(n: TsNode): Found | null {
  const field = (f: string) => n.childForFieldName(f);
  switch (n.type) {
    case 'class_declaration':
    case 'interface_declaration':
    case 'enum_declaration':
    case 'record_declaration':
      return { name: nameText(field('name')), kind: 'class', body: field('body') };
    case 'method_declaration':
    case 'constructor_declaration':
      return { name: nameText(field('name')), kind: 'method', body: null };
    case 'field_declaration': {
      const d = n.namedChildren.find((c) => c?.type === 'variable_declarator');
      const name = d?.childForFieldName('name');
      return name ? { name: nameText(name), kind: 'constant', body: null } : null;
    }
  }
  return null;
}

function collect(parent: TsNode, lang: Lang, prefix: string, depth: number): Definition[] {
  const out: Definition[] = [];
  if (depth > 6) return out;
  for (const n of parent.namedChildren) {
    if (!n) continue;
    const d = definitionOf(n, lang, depth > 0);
    if (!d || !d.name) continue;
    const qualified = prefix ? `${prefix}.${d.name}` : d.name;
    out.push({
      name: d.name.split('.').pop() ?? d.name,
      qualified,
      kind: d.kind,
      start: startRow(n),
      end: endRow(n),
      children: d.body ? collect(d.body, lang, qualified, depth + 1) : [],
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Line rules: config files (keys and sections) and Markdown (headings)

const CONFIG_EXT = new Set(['toml', 'ini', 'cfg', 'conf', 'properties', 'yaml', 'yml', 'json', 'jsonc', 'json5', 'env']);
const MARKDOWN_EXT = new Set(['md', 'markdown', 'mdx', 'rst']);
const CONFIG_NAMES = new Set(['setup.cfg', 'tox.ini', '.editorconfig', 'pytest.ini', '.flake8', 'mypy.ini', 'makefile', 'dockerfile']);
/** Changelogs (PyYAML's `CHANGES`, express's `History.md`): their releases are underlined titles, whatever the extension. */
const CHANGELOG = /^(changes|changelog|history|news|releases?)(\.(txt|md|markdown|rst))?$/;

export function lineDefinitions(relPath: string, text: string): Definition[] | null {
  const ext = extOf(relPath);
  const base = (relPath.split(/[\\/]/).pop() ?? '').toLowerCase();
  const lines = text.split(/\r\n|\n|\r/);
  if (CHANGELOG.test(base)) return headings(lines, true);
  if (MARKDOWN_EXT.has(ext)) return headings(lines, ext === 'rst');
  if (CONFIG_EXT.has(ext) || CONFIG_NAMES.has(base)) return configKeys(lines, ext);
  return null;
}

/**
 * Markdown `#` headings (or reStructuredText underlined titles: also changelogs without an extension),
 * nested by level; a section runs to the next heading of its level or above.
 */
function headings(lines: string[], rst: boolean): Definition[] {
  const found: Array<{ level: number; title: string; row: number }> = [];
  const rstLevels: string[] = [];
  let fence = false;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (/^ {0,3}(```|~~~)/.test(l)) fence = !fence;
    if (fence) continue;
    const m = /^ {0,3}(#{1,6})\s+(.+?)\s*#*\s*$/.exec(l);
    if (m) found.push({ level: m[1].length, title: m[2], row: i });
    else if (rst && i > 0 && /^([=\-~^"'`#*+])\1{2,}\s*$/.test(l) && lines[i - 1].trim() && l.trim().length >= lines[i - 1].trim().length) {
      const ch = l.trim()[0];
      if (!rstLevels.includes(ch)) rstLevels.push(ch);
      found.push({ level: rstLevels.indexOf(ch) + 1, title: lines[i - 1].trim(), row: i - 1 });
    }
  }
  const roots: Definition[] = [];
  const stack: Array<{ def: Definition; level: number }> = [];
  found.forEach((h, j) => {
    let end = lines.length - 1;
    for (let k = j + 1; k < found.length; k++) if (found[k].level <= h.level) { end = found[k].row - 1; break; }
    end = lastNonBlank(lines, h.row, end);
    while (stack.length && stack[stack.length - 1].level >= h.level) stack.pop();
    const parent = stack[stack.length - 1]?.def;
    const def: Definition = { name: h.title, qualified: parent ? `${parent.qualified} > ${h.title}` : h.title, kind: 'heading', start: h.row, end, children: [] };
    (parent ? parent.children : roots).push(def);
    stack.push({ def, level: h.level });
  });
  return roots;
}

/** `[section]` tables (TOML/INI) holding their `key = …` lines; YAML/JSON keys at the first three levels of indentation, qualified by their parents. */
function configKeys(lines: string[], ext: string): Definition[] {
  const roots: Definition[] = [];
  let section: Definition | null = null;
  const yamlish = ext === 'yaml' || ext === 'yml' || ext.startsWith('json');
  const indents: number[] = [];
  const parents: Array<{ indent: number; name: string }> = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    const sec = /^\s*\[{1,2}\s*([^\]]+?)\s*\]{1,2}\s*$/.exec(l);
    if (!yamlish && sec) {
      if (section) section.end = lastNonBlank(lines, section.start, i - 1);
      section = { name: sec[1], qualified: sec[1], kind: 'key', start: i, end: i, children: [] };
      roots.push(section);
      continue;
    }
    const kv = yamlish ? /^(\s*)(?:-\s+)?["']?([A-Za-z_$][\w.$-]*)["']?\s*:/.exec(l) : /^(\s*)([A-Za-z_][\w.-]*)\s*[=:]/.exec(l);
    if (!kv) continue;
    const indent = kv[1].length;
    if (yamlish) {
      if (!indents.includes(indent)) {
        indents.push(indent);
        indents.sort((a, b) => a - b);
      }
      if (indents.indexOf(indent) > 2) continue;
    }
    // YAML/JSON: a key is qualified by the keys it sits under (`dependencies.parseurl`, `on.push.branches`).
    while (parents.length && parents[parents.length - 1].indent >= indent) parents.pop();
    const under = yamlish ? parents.map((p) => p.name).join('.') : section?.qualified;
    const key: Definition = { name: kv[2], qualified: under ? `${under}.${kv[2]}` : kv[2], kind: 'key', start: i, end: i, children: [] };
    (section ? section.children : roots).push(key);
    if (yamlish) parents.push({ indent, name: kv[2] });
  }
  if (section) section.end = lastNonBlank(lines, section.start, lines.length - 1);
  return roots;
}

function lastNonBlank(lines: string[], lo: number, hi: number): number {
  while (hi > lo && !lines[hi].trim()) hi--;
  return hi;
}

/** Every definition, depth first. */
export function flatten(defs: Definition[]): Definition[] {
  const out: Definition[] = [];
  const walk = (ds: Definition[]) => {
    for (const d of ds) {
      out.push(d);
      walk(d.children);
    }
  };
  walk(defs);
  return out;
}
