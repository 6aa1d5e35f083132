#!/usr/bin/env node
// Helper of benchmarks/real/generate.py and check.py (Node >= 18, run from the repository root).
//
//   node benchmarks/real/js_defs.mjs walk <root>             -> JSON list of the files the memorizer reads
//   node benchmarks/real/js_defs.mjs defs <root> <rel>...    -> JSON {rel: {defs: [...], names: [...]}}
//
// walk applies the extension's own path rules: DEFAULT_EXCLUDES and DEFAULT_SECRET_EXCLUDES read
// from src/core/files.ts, .gitignore files (root and nested, via the same `ignore` package), the
// 1 MB limit, and no binary (NUL byte), empty or invalid UTF-8 files.
// defs parses JavaScript/TypeScript with the TypeScript compiler API and lists definitions:
// functions and methods (parameters with default values, the JSDoc text and its lines), module
// and function-level constants with literal values, `this.x = literal` members, `obj.set('k', v)`
// calls, classes with what they extend, and every declared name (for the uniqueness check).
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(path.join(REPO, 'package.json'));
const ts = require('typescript');
const ignore = require('ignore');

function listFromFilesTs(name) {
  const src = fs.readFileSync(path.join(REPO, 'src', 'core', 'files.ts'), 'utf8');
  const start = src.indexOf(`export const ${name}`);
  if (start < 0) throw new Error(`${name} not found in src/core/files.ts`);
  const body = src.slice(start, src.indexOf('\n];', start));
  const out = [];
  // plain quoted patterns, then the extension list mapped to `*.ext`
  const [plain, exts] = body.includes('...[') ? body.split('...[') : [body, ''];
  for (const m of plain.matchAll(/'([^']+)'/g)) out.push(m[1]);
  for (const m of exts.matchAll(/'([^']+)'/g)) out.push(`*.${m[1]}`);
  return out;
}

function walk(root) {
  const defaults = ignore().add(listFromFilesTs('DEFAULT_EXCLUDES'));
  const secrets = ignore().add(listFromFilesTs('DEFAULT_SECRET_EXCLUDES'));
  const files = [];
  const isIgnored = (levels, rel) => {
    let ig = false;
    for (const l of levels) {
      if (l.base && !rel.startsWith(l.base)) continue;
      const sub = rel.slice(l.base.length);
      if (!sub) continue;
      const r = l.ig.test(sub);
      if (r.ignored) ig = true;
      else if (r.unignored) ig = false;
    }
    return ig;
  };
  const visit = (abs, rel, levels) => {
    const gi = path.join(abs, '.gitignore');
    if (fs.existsSync(gi)) levels = [...levels, { base: rel, ig: ignore().add(fs.readFileSync(gi, 'utf8')) }];
    const ents = fs.readdirSync(abs, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of ents) {
      const r = rel + e.name + (e.isDirectory() ? '/' : '');
      if (secrets.ignores(r) || defaults.ignores(r) || isIgnored(levels, r)) continue;
      if (e.isDirectory()) visit(path.join(abs, e.name), r, levels);
      else if (e.isFile()) {
        const buf = fs.readFileSync(path.join(abs, e.name));
        if (buf.length === 0 || buf.length > 1024 * 1024 || buf.subarray(0, 8192).includes(0)) continue;
        try {
          new TextDecoder('utf-8', { fatal: true }).decode(buf);
        } catch {
          continue;
        }
        files.push(r);
      }
    }
  };
  visit(path.resolve(root), '', []);
  return files;
}

const line = (sf, pos) => sf.getLineAndCharacterOfPosition(pos).line + 1;

function literal(sf, node) {
  if (!node) return null;
  if (ts.isParenthesizedExpression(node)) return literal(sf, node.expression);
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return { value: node.text, str: true };
  if (ts.isNumericLiteral(node)) return { value: node.getText(sf), str: false };
  if (ts.isPrefixUnaryExpression(node) && ts.isNumericLiteral(node.operand)) return { value: node.getText(sf), str: false };
  if (ts.isRegularExpressionLiteral(node)) return { value: node.getText(sf), str: false };
  if (ts.isArrayLiteralExpression(node) && node.elements.every((e) => literal(sf, e))) return { value: node.getText(sf), str: false };
  if (ts.isBinaryExpression(node) && literal(sf, node.left) && literal(sf, node.right)) return { value: node.getText(sf), str: false };
  return null;
}

function jsdoc(sf, node) {
  const docs = node.jsDoc || (node.parent && ts.isVariableDeclarationList(node.parent) ? node.parent.parent.jsDoc : null);
  if (!docs || !docs.length) return null;
  const d = docs[docs.length - 1];
  const text = (ts.getTextOfJSDocComment(d.comment) || '').trim();
  const raw = d.getText(sf);
  const defaults = {};
  for (const m of raw.matchAll(/@param\s+(?:\{[^}]*\}\s+)?\[([\w.$]+)=([^\]]+)\]/g)) defaults[m[1]] = m[2].trim();
  const tags = (d.tags || []).map((t) => t.tagName.text);
  return { text, start: line(sf, d.getStart(sf)), end: line(sf, d.end), defaults, tags };
}

function nameOf(sf, n) {
  if (!n) return null;
  if (ts.isIdentifier(n) || ts.isPrivateIdentifier(n)) return n.text;
  if (ts.isStringLiteral(n)) return n.text;
  if (ts.isPropertyAccessExpression(n)) {
    const left = nameOf(sf, n.expression);
    return left ? `${left}.${n.name.text}` : n.name.text;
  }
  return null;
}

function defs(root, rels) {
  const out = {};
  for (const rel of rels) {
    const text = fs.readFileSync(path.join(root, rel), 'utf8');
    const kind = /\.d\.(m|c)?ts$|\.tsx?$|\.mts$/.test(rel) ? ts.ScriptKind.TS : ts.ScriptKind.JS;
    const sf = ts.createSourceFile(rel, text, ts.ScriptTarget.Latest, true, kind);
    const found = [];
    const names = new Set();
    const fn = (node, qual, extra = {}) => {
      const params = [];
      for (const p of node.parameters || []) {
        const pname = ts.isIdentifier(p.name) ? p.name.text : null;
        const lit = p.initializer ? literal(sf, p.initializer) : null;
        params.push({ name: pname, default: lit ? lit.value : null, line: line(sf, p.getStart(sf)) });
      }
      found.push({ kind: 'function', qual, line: line(sf, node.getStart(sf)), params, doc: jsdoc(sf, extra.docNode || node), ...extra.info });
    };
    const walkNode = (node, ctx) => {
      if (ts.isClassDeclaration(node) && node.name) {
        const cname = node.name.text;
        names.add(cname);
        const ext = (node.heritageClauses || []).filter((h) => h.token === ts.SyntaxKind.ExtendsKeyword).flatMap((h) => h.types.map((t) => t.expression.getText(sf)));
        found.push({ kind: 'class', qual: cname, line: line(sf, node.getStart(sf)), extends: ext, doc: jsdoc(sf, node) });
        for (const m of node.members) {
          const mname = m.name ? nameOf(sf, m.name) : m.kind === ts.SyntaxKind.Constructor ? 'constructor' : null;
          if (!mname) continue;
          names.add(`${cname}.${mname}`);
          if (ts.isMethodDeclaration(m) || ts.isConstructorDeclaration(m) || ts.isGetAccessor(m) || ts.isSetAccessor(m)) {
            fn(m, `${cname}.${mname}`);
            if (m.body) walkNode(m.body, { fn: `${cname}.${mname}`, cls: cname });
          } else if (ts.isPropertyDeclaration(m)) {
            const lit = literal(sf, m.initializer);
            found.push({ kind: 'member', qual: `${cname}.${mname}`, line: line(sf, m.getStart(sf)), value: lit && lit.value, str: lit && lit.str, doc: jsdoc(sf, m) });
          }
        }
        return;
      }
      if (ts.isInterfaceDeclaration(node) && node.name) {
        names.add(node.name.text);
        for (const m of node.members) {
          const mname = m.name ? nameOf(sf, m.name) : null;
          if (mname) {
            names.add(`${node.name.text}.${mname}`);
            if (ts.isMethodSignature(m)) fn(m, `${node.name.text}.${mname}`, { info: { signature: true } });
          }
        }
        return;
      }
      if (ts.isFunctionDeclaration(node) && node.name) {
        const q = ctx.fn ? `${ctx.fn}.${node.name.text}` : node.name.text;
        names.add(node.name.text);
        fn(node, node.name.text, { info: { nested: !!ctx.fn } });
        if (node.body) walkNode(node.body, { fn: node.name.text });
        return;
      }
      if (ts.isVariableStatement(node)) {
        for (const d of node.declarationList.declarations) {
          if (!ts.isIdentifier(d.name)) continue;
          const vname = d.name.text;
          if (!ctx.fn) names.add(vname);
          const init = d.initializer;
          if (init && (ts.isFunctionExpression(init) || ts.isArrowFunction(init))) {
            fn(init, vname, { docNode: node });
            walkNode(init.body, { fn: vname });
            continue;
          }
          const lit = literal(sf, init);
          if (lit) found.push({ kind: 'const', qual: vname, scope: ctx.fn || null, line: line(sf, d.getStart(sf)), value: lit.value, str: lit.str, doc: jsdoc(sf, node), isConst: !!(node.declarationList.flags & ts.NodeFlags.Const) });
          if (init) walkNode(init, ctx);
        }
        return;
      }
      if (ts.isExpressionStatement(node) && ts.isBinaryExpression(node.expression) && node.expression.operatorToken.kind === ts.SyntaxKind.EqualsToken) {
        const left = node.expression.left;
        let right = node.expression.right;
        const lname = nameOf(sf, left);
        // a = b = function () {} chains: take the innermost right-hand side
        while (ts.isBinaryExpression(right) && right.operatorToken.kind === ts.SyntaxKind.EqualsToken) right = right.right;
        if (lname && (ts.isFunctionExpression(right) || ts.isArrowFunction(right))) {
          const q = lname.replace(/^(module\.)?exports\./, '').replace('.prototype.', '.');
          names.add(q);
          fn(right, q, { docNode: node });
          walkNode(right.body, { fn: q });
          return;
        }
        if (lname && ctx.cls && lname.startsWith('this.')) {
          const lit = literal(sf, right);
          found.push({ kind: 'member', qual: `${ctx.cls}.${lname.slice(5)}`, line: line(sf, node.getStart(sf)), value: lit && lit.value, str: lit && lit.str, inFn: ctx.fn });
        } else if (lname && !ctx.fn) {
          const q = lname.replace(/^(module\.)?exports\./, '');
          names.add(q);
          const lit = literal(sf, right);
          if (lit) found.push({ kind: 'const', qual: q, scope: null, line: line(sf, node.getStart(sf)), value: lit.value, str: lit.str, doc: jsdoc(sf, node) });
        }
      }
      if (ts.isCallExpression(node) && ctx.fn && ts.isPropertyAccessExpression(node.expression)) {
        const meth = node.expression.name.text;
        const a = node.arguments;
        if (meth === 'set' && a.length === 2 && ts.isStringLiteral(a[0])) {
          const lit = literal(sf, a[1]);
          if (lit) found.push({ kind: 'setcall', qual: a[0].text, fn: ctx.fn, line: line(sf, node.getStart(sf)), value: lit.value, str: lit.str });
        }
        if ((meth === 'error' || meth === '_exit') && a.length >= 1) {
          for (const arg of a) {
            if (ts.isObjectLiteralExpression(arg)) {
              for (const p of arg.properties) {
                if (ts.isPropertyAssignment(p) && nameOf(sf, p.name) === 'code' && ts.isStringLiteral(p.initializer)) {
                  found.push({ kind: 'errcode', qual: p.initializer.text, fn: ctx.fn, line: line(sf, p.getStart(sf)), value: p.initializer.text, str: true });
                }
              }
            }
          }
        }
      }
      ts.forEachChild(node, (c) => walkNode(c, ctx));
    };
    walkNode(sf, {});
    out[rel] = { defs: found, names: [...names] };
  }
  return out;
}

const [mode, root, ...rest] = process.argv.slice(2);
if (mode === 'walk') process.stdout.write(JSON.stringify(walk(root)));
else if (mode === 'defs') process.stdout.write(JSON.stringify(defs(root, rest)));
else {
  process.stderr.write('usage: js_defs.mjs walk <root> | defs <root> <rel>...\n');
  process.exit(2);
}
