// Unit tests of the chat webview's HTML (CSP, nonce, no remote resources) and of the workspace-trust
// gating of automatic memorizing. Pure: no `vscode` needed. node --test out/test/extension/
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { autoMemorizeBlocker, shouldAutoMemorize, shouldListen } from '../../src/extension/autoMemorize';
import { makeNonce, renderChatHtml } from '../../src/extension/chatHtml';

// what VS Code's webview.cspSource / asWebviewUri look like
const CSP_SOURCE = 'https://*.vscode-cdn.net';
const base = 'https://file%2B.vscode-resource.vscode-cdn.net/ext/media';
const render = () =>
  renderChatHtml({
    cspSource: CSP_SOURCE,
    nonce: makeNonce(),
    scriptUri: `${base}/chat.js`,
    styleUri: `${base}/chat.css`,
    codiconsUri: `${base}/../dist/codicons/codicon.css`,
  });

function cspOf(html: string): Map<string, string[]> {
  const m = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html);
  assert.ok(m, 'a Content-Security-Policy meta');
  const dirs = new Map<string, string[]>();
  for (const d of m[1].replace(/&#39;|&apos;/g, "'").split(';')) {
    const [name, ...vals] = d.trim().split(/\s+/);
    if (name) dirs.set(name, vals);
  }
  return dirs;
}

test('webview CSP: default-src none, scripts only by nonce, every script carries it, no remote resources', () => {
  const html = render();
  const csp = cspOf(html);
  assert.deepEqual(csp.get('default-src'), ["'none'"]);
  const script = csp.get('script-src');
  assert.ok(script && script.length === 1, `script-src has exactly one source: ${String(script)}`);
  const nonce = /^'nonce-([A-Za-z0-9+/=]+)'$/.exec(script[0])?.[1];
  assert.ok(nonce, `script-src is a nonce: ${script[0]}`);
  assert.ok(!/unsafe-inline|unsafe-eval|unsafe-hashes|wasm-unsafe/.test(html), 'no unsafe-* anywhere');
  assert.deepEqual(csp.get('font-src'), [CSP_SOURCE]);
  assert.deepEqual(csp.get('style-src'), [CSP_SOURCE]);
  for (const [name, vals] of csp) {
    for (const v of vals) assert.ok(!/\*$|^https?:$|^data:$/.test(v) || name === 'img-src', `${name} ${v} is not a wildcard`);
  }
  // every <script> tag (there is one) carries the nonce, and none is inline
  const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
  assert.ok(scripts.length >= 1);
  assert.equal(scripts.length, (html.match(/<script\b/gi) ?? []).length);
  for (const [, attrs, body] of scripts) {
    assert.ok(attrs.includes(`nonce="${nonce}"`), `script carries the nonce: ${attrs}`);
    assert.equal(body.trim(), '', 'no inline script');
  }
  assert.ok(!/\son[a-z]+=/i.test(html), 'no inline event handlers');
  // no http:/https: URL other than the cspSource and the asWebviewUri resources
  const urls = html.match(/https?:[^\s"'<>;]*/gi) ?? [];
  assert.ok(urls.length > 0);
  for (const u of urls) assert.ok(u === CSP_SOURCE || u.startsWith(base), `no remote resource: ${u}`);
  // the ids the webview script and the e2e driver use
  for (const id of ['banner', 'log', 'composer', 'input', 'hint', 'newChat', 'stop', 'send']) assert.ok(html.includes(`id="${id}"`), id);
  // icon buttons keep a visible text label (their accessible name); icons are aria-hidden
  for (const [id, label] of [['send', 'Send'], ['stop', 'Stop'], ['newChat', 'New chat']]) {
    const b = new RegExp(`<button[^>]*id="${id}"[^>]*>(.*?)</button>`).exec(html)?.[1] ?? '';
    assert.match(b, /<span class="codicon codicon-[a-z-]+" aria-hidden="true"><\/span>/, `${id} has an icon`);
    assert.ok(b.includes(`<span class="label">${label}</span>`), `${id} keeps its label`);
  }
});

test('webview CSP: the nonce is random per render (>= 128 bits, base64)', () => {
  const a = render();
  const b = render();
  const na = /'nonce-([^']+)'/.exec(a)?.[1];
  const nb = /'nonce-([^']+)'/.exec(b)?.[1];
  assert.ok(na && nb);
  assert.notEqual(na, nb);
  assert.match(na, /^[A-Za-z0-9+/]{22}==$/);
  assert.ok(na.length >= 16);
  const many = new Set(Array.from({ length: 200 }, makeNonce));
  assert.equal(many.size, 200);
});

test('untrusted workspaces: no automatic memorizing', () => {
  // untrusted: off whatever the other settings say, and the reason names trust
  for (const watchEnabled of [true, false]) {
    for (const paused of [true, false]) {
      const g = { trusted: false, watchEnabled, paused };
      assert.equal(shouldAutoMemorize(g), false);
      assert.equal(shouldListen(g), false);
      assert.equal(autoMemorizeBlocker(g), 'this workspace is not trusted');
    }
  }
  // trusted: on only with watch on and not paused; paused still listens (work is held for resume)
  assert.equal(shouldAutoMemorize({ trusted: true, watchEnabled: true, paused: false }), true);
  assert.equal(shouldAutoMemorize({ trusted: true, watchEnabled: false, paused: false }), false);
  assert.equal(shouldAutoMemorize({ trusted: true, watchEnabled: true, paused: true }), false);
  assert.equal(shouldListen({ trusted: true, watchEnabled: true }), true);

  // the Watcher itself, wired to a controller and a fake engine: test/extension/watcher.test.ts
});
