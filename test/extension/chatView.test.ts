// The chat view provider (src/extension/chatView.ts) with a fake webview, a controller on a fake
// engine and a stub `vscode`: what it posts for a question, and what it refuses from the webview.
import { clipboard, executed } from './vscodeStub';
import { setup } from './fakes';
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { ChatViewProvider } from '../../src/extension/chatView';
import { StatusLog } from '../../src/extension/statusLog';
import { Watcher } from '../../src/extension/watcher';
import type { ToWebview } from '../../src/webview/protocol';

const tick = () => new Promise((r) => setTimeout(r, 0));

async function open() {
  const s = setup();
  await s.ctrl.start();
  const log = new StatusLog();
  const watcher = new Watcher(s.ctrl, log, { appendLine: () => undefined } as never, s.ctx as never);
  const chat = new ChatViewProvider(s.ctx as never, s.ctrl, watcher, log);
  const posted: ToWebview[] = [];
  let receive: (m: unknown) => unknown = () => undefined;
  const webview = {
    options: {},
    html: '',
    cspSource: 'vscode-resource:',
    asWebviewUri: (u: { fsPath: string }) => ({ toString: () => `vscode-resource:${u.fsPath}` }),
    postMessage: async (m: ToWebview) => void posted.push(JSON.parse(JSON.stringify(m))),
    onDidReceiveMessage: (fn: (m: unknown) => unknown) => {
      receive = fn;
      return { dispose: () => undefined };
    },
  };
  chat.resolveWebviewView({ webview, onDidDispose: () => ({ dispose: () => undefined }) } as never);
  const send = async (m: unknown) => {
    receive(m);
    for (let i = 0; i < 5; i++) await tick();
  };
  const done = async () => {
    chat.dispose();
    watcher.dispose();
    await s.cleanup();
  };
  return { s, chat, webview, posted, send, done };
}

test('the view loads the bundled script with a nonce and gets its history and state on ready', async () => {
  const v = await open();
  try {
    assert.match(v.webview.html, /<script nonce="[^"]+" src="vscode-resource:[^"]*dist\/webview\/chat\.js"><\/script>/);
    await v.send({ type: 'ready' });
    assert.deepEqual(v.posted.map((m) => m.type), ['history', 'state']);
    const st = v.posted[1] as Extract<ToWebview, { type: 'state' }>;
    assert.equal(st.state.phase, 'ready');
    assert.equal(st.state.memories, 2);
  } finally {
    await v.done();
  }
});

test('a question: user and streaming messages, the tokens, then the answer with its sources and grounding', async () => {
  const v = await open();
  try {
    await v.send({ type: 'ask', text: '  which port?  ' });
    const msgs = v.posted.filter((m): m is Extract<ToWebview, { type: 'message' }> => m.type === 'message').map((m) => m.message);
    assert.equal(msgs[0].role, 'user');
    assert.equal(msgs[0].text, 'which port?');
    assert.equal(msgs[1].status, 'streaming');
    const tokens = v.posted.filter((m): m is Extract<ToWebview, { type: 'token' }> => m.type === 'token').map((m) => m.text);
    assert.equal(tokens.join(''), 'port 5432');
    const last = msgs[msgs.length - 1];
    assert.equal(last.status, 'done');
    assert.equal(last.text, 'port 5432');
    assert.equal(last.citations?.[0].path, 'a.md');
    assert.equal(last.citations?.[0].excerpt.length, 400, 'excerpts are cut for the view');
    assert.equal(last.grounding?.verdict, 'found');
    // copy: the extension copies its own text of the answer
    await v.send({ type: 'copy', messageId: last.id });
    assert.equal(clipboard[clipboard.length - 1], 'port 5432');
    assert.deepEqual(v.posted[v.posted.length - 1], { type: 'copied', id: last.id });
  } finally {
    await v.done();
  }
});

test('what the webview may not do is ignored: unknown types, extra fields, commands outside the allowed list', async () => {
  const v = await open();
  try {
    const before = executed.length;
    await v.send({ type: 'command', command: 'workbench.action.terminal.new' });
    await v.send({ type: 'ask', text: 'x', extra: 1 });
    await v.send({ type: 'eval', code: '1' });
    assert.equal(executed.length, before);
    assert.deepEqual(v.posted, []);
    await v.send({ type: 'command', command: 'memorizeWorkspace' });
    assert.deepEqual(executed[executed.length - 1], ['cmtMemory.memorizeWorkspace']);
  } finally {
    await v.done();
  }
});
