// Renders answers with the real webview script (src/webview/chat.ts, bundled) in a minimal fake DOM (node:vm, no browser): the
// grounding verdict is visible, "not sure" answers are marked as guesses, and quotes open the file
// at their line through an `openQuote` message the extension accepts. node --test out/test/extension/
import { strict as assert } from 'node:assert';
import * as esbuild from 'esbuild';
import * as path from 'node:path';
import { test } from 'node:test';
import * as vm from 'node:vm';
import type { Grounding } from '../../src/core/protocol';
import type { ChatMessage } from '../../src/webview/protocol';
import { parseFromWebview } from '../../src/extension/webviewInput';

const REPO = path.resolve(__dirname, '..', '..', '..'); // out/test/extension -> repo

/** src/webview/chat.ts bundled as scripts/build-extension.mjs bundles it (in memory). */
function chatJs(): string {
  const r = esbuild.buildSync({ absWorkingDir: REPO, entryPoints: ['src/webview/chat.ts'], bundle: true, write: false, platform: 'browser', format: 'iife', target: 'es2022' });
  return r.outputFiles[0].text;
}

class FakeEl {
  children: FakeEl[] = [];
  parent: FakeEl | null = null;
  className = '';
  dataset: Record<string, string> = {};
  attrs: Record<string, string> = {};
  listeners: Record<string, Array<(ev: unknown) => void>> = {};
  private ownText = '';
  href = '';
  title = '';
  type = '';
  hidden = false;
  disabled = false;
  value = '';
  scrollTop = 0;
  scrollHeight = 0;
  clientHeight = 0;
  constructor(readonly tagName: string, readonly id = '') {}
  get childNodes(): FakeEl[] {
    return this.children;
  }
  get textContent(): string {
    return this.ownText + this.children.map((c) => c.textContent).join('');
  }
  set textContent(t: string) {
    this.ownText = String(t);
    this.children = [];
  }
  appendChild<T extends FakeEl>(c: T): T {
    c.parent = this;
    this.children.push(c);
    return c;
  }
  replaceWith(n: FakeEl): void {
    const p = this.parent!;
    p.children[p.children.indexOf(this)] = n;
    n.parent = p;
  }
  setAttribute(k: string, v: string): void {
    this.attrs[k] = String(v);
  }
  getAttribute(k: string): string | undefined {
    return this.attrs[k];
  }
  addEventListener(type: string, fn: (ev: unknown) => void): void {
    (this.listeners[type] ??= []).push(fn);
  }
  click(): void {
    for (const fn of this.listeners.click ?? []) fn({ preventDefault() {} });
  }
  /** Descendants matching `.a.b` (classes) or `tag` or `tag.cls`. */
  all(sel: string): FakeEl[] {
    const [tag, ...classes] = sel.split('.');
    const out: FakeEl[] = [];
    const walk = (e: FakeEl) => {
      for (const c of e.children) {
        const cls = c.className.split(/\s+/);
        if ((!tag || c.tagName === tag) && classes.every((k) => cls.includes(k))) out.push(c);
        walk(c);
      }
    };
    walk(this);
    return out;
  }
  querySelector(sel: string): FakeEl | null {
    return this.all(sel)[0] ?? null;
  }
}

/** Loads chat.js into a fake webview; returns the log element, what it posted, and a way to send it messages. */
function loadChat() {
  const ids = ['log', 'banner', 'input', 'send', 'stop', 'hint', 'composer', 'newChat'];
  const byId = new Map(ids.map((id) => [id, new FakeEl(id === 'input' ? 'textarea' : 'div', id)]));
  const posted: unknown[] = [];
  let onMessage: ((ev: { data: unknown }) => void) | undefined;
  const ctx = {
    // postMessage structured-clones: keep plain objects of this realm
    acquireVsCodeApi: () => ({ postMessage: (m: unknown) => posted.push(JSON.parse(JSON.stringify(m))), getState: () => undefined, setState: () => undefined }),
    document: {
      getElementById: (id: string) => byId.get(id),
      createElement: (tag: string) => new FakeEl(tag),
      createTextNode: (t: string) => Object.assign(new FakeEl('#text'), { textContent: t }),
    },
    window: { addEventListener: (t: string, fn: (ev: { data: unknown }) => void) => t === 'message' && (onMessage = fn) },
    setTimeout,
  };
  vm.runInNewContext(chatJs(), ctx, { filename: 'chat.js' });
  return { log: byId.get('log')!, posted, send: (data: unknown) => onMessage!({ data }) };
}

const FOUND: Grounding = {
  verdict: 'found',
  reason: 'in-source',
  message: 'Found in your files.',
  quotes: [{ path: 'services/tirguri/config.yaml', line: 14, text: 'port: 5432', citation: 0 }],
  coverage: 1,
  memoryGain: 0.8,
};
const NOT_SURE: Grounding = {
  verdict: 'not-sure',
  reason: 'not-in-source',
  message: 'Not sure: this answer does not appear in the cited files — it may be a guess.',
  quotes: [
    { path: 'services/tirguri/config.yaml', line: 14, text: 'port: 5432', citation: 0 },
    { path: 'README.md', line: 3, text: '<b>tirguri</b> uses postgres', citation: 1 },
  ],
  coverage: 0,
  memoryGain: 0.01,
};
const answer = (id: string, text: string, grounding?: Grounding, status: ChatMessage['status'] = 'done'): ChatMessage => ({
  id,
  role: 'assistant',
  text,
  status,
  grounding,
  citations: [{ path: 'services/tirguri/config.yaml', startLine: 10, endLine: 15, score: 0.9, excerpt: 'x' }],
});

test('chat: a "found" answer shows the verdict and the exact line as a quote that opens the file there', () => {
  const w = loadChat();
  w.send({ type: 'message', message: answer('a1', '5432', FOUND) });
  const msg = w.log.children[0];
  assert.equal(msg.dataset.verdict, 'found');
  const box = msg.querySelector('.grounding')!;
  assert.ok(box, 'a grounding box');
  assert.ok(box.className.includes('found'));
  assert.equal(box.getAttribute('role'), 'status');
  assert.match(box.textContent, /^Found in source/);
  const text = msg.querySelector('.text')!;
  assert.equal(text.className, 'text', 'a found answer is not marked as a guess');
  const quotes = msg.all('a.quote');
  assert.equal(quotes.length, 1);
  assert.equal(quotes[0].textContent, 'port: 5432 services/tirguri/config.yaml:14');
  assert.equal(quotes[0].dataset.line, '14');
  w.posted.length = 0;
  quotes[0].click();
  assert.deepEqual(w.posted, [{ type: 'openQuote', messageId: 'a1', index: 0 }]);
  // the extension accepts exactly that message
  assert.deepEqual(parseFromWebview(w.posted[0]), { type: 'openQuote', messageId: 'a1', index: 0 });
  assert.equal(parseFromWebview({ type: 'openQuote', messageId: 'a1', index: -1 }), undefined);
  assert.equal(parseFromWebview({ type: 'openQuote', messageId: 'a1', index: 0, path: '/etc/passwd' }), undefined);
});

test('chat: an output that is no answer (a repetition loop) is not shown, not even as a guess; the relevant lines are', () => {
  const w = loadChat();
  const loop: Grounding = { ...NOT_SURE, reason: 'degenerate', message: 'Not sure: the model fell into repeating itself, so this is no answer. Check the lines below.', noAnswer: true };
  w.send({ type: 'message', message: answer('a9', 'bambo-1.1.1.1.1.1.1.1.1.1.1.1', loop) });
  const msg = w.log.children[0];
  const text = msg.querySelector('.text')!;
  assert.ok(text.className.includes('withheld'));
  assert.ok(!text.className.includes('guess'));
  assert.doesNotMatch(text.textContent, /bambo/);
  assert.match(text.textContent, /^No answer/);
  assert.equal(msg.all('a.quote').length, 2);
});

test('chat: a "not sure" answer says so plainly, is shown as a guess, and lists the most relevant lines', () => {
  const w = loadChat();
  w.send({ type: 'message', message: answer('a2', '5433', NOT_SURE) });
  const msg = w.log.children[0];
  assert.equal(msg.dataset.verdict, 'not-sure');
  const box = msg.querySelector('.grounding')!;
  assert.ok(box.className.includes('not-sure'));
  assert.equal(box.dataset.reason, 'not-in-source');
  assert.match(box.textContent, /^Not sure — this answer does not appear in the cited files/);
  assert.match(box.textContent, /Most relevant lines in your files:/);
  const text = msg.querySelector('.text')!;
  assert.ok(text.className.includes('guess'));
  assert.equal(text.getAttribute('aria-label'), 'Unverified guess: 5433');
  const quotes = msg.all('a.quote');
  assert.deepEqual(quotes.map((q) => [q.dataset.path, q.dataset.line]), [['services/tirguri/config.yaml', '14'], ['README.md', '3']]);
  // text is text: markup in a file line is not interpreted
  assert.equal(quotes[1].querySelector('q')!.textContent, '<b>tirguri</b> uses postgres');
  assert.equal(quotes[1].all('b').length, 0);
  quotes[1].click();
  assert.deepEqual(w.posted.at(-1), { type: 'openQuote', messageId: 'a2', index: 1 });
  // citations are still listed below
  assert.equal(msg.all('a.cite').length, 1);
});

test('chat: no verdict while streaming, nor for stopped answers or old history without one', () => {
  const w = loadChat();
  w.send({ type: 'message', message: answer('s1', '54', undefined, 'streaming') });
  w.send({ type: 'token', id: 's1', text: '32' });
  assert.equal(w.log.children[0].querySelector('.grounding'), null);
  assert.equal(w.log.children[0].querySelector('.text')!.textContent, '5432');
  w.send({ type: 'message', message: answer('s1', '5432', FOUND) }); // done: replaced in place
  assert.equal(w.log.children.length, 1);
  assert.ok(w.log.children[0].querySelector('.grounding'));
  w.send({ type: 'history', messages: [answer('h1', 'x', undefined), answer('h2', 'y', NOT_SURE, 'stopped')] });
  assert.equal(w.log.all('.grounding').length, 0);
});
