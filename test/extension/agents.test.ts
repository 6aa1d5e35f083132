// The editor's agent features (src/extension/agents.ts) against a controller on a fake engine and a
// stub `vscode` that plays VS Code 1.101's language-model API: the tools through lm.invokeTool, the
// @memory participant's handler (the chat view itself needs a signed-in Copilot, which code-server
// does not have), the MCP server definition and its relay to the extension's engine, and what happens
// on a VS Code without these APIs. node --test out/test/extension/agents.test.js
import * as stub from './vscodeStub';
import { FakeEngine, REPO, setup } from './fakes';
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import * as vscode from 'vscode';
import { ASK_TOOL, escapeMd, MCP_PROVIDER_ID, McpOffer, PARTICIPANT_ID, registerAgentFeatures, SEARCH_TOOL } from '../../src/extension/agents';
import { ChatViewProvider } from '../../src/extension/chatView';
import { lmApi, type ChatRequestHandler } from '../../src/extension/lmApi';
import { StatusLog } from '../../src/extension/statusLog';
import { Watcher } from '../../src/extension/watcher';
import { RelayEngine } from '../../src/mcp/relay';

const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'));

async function ready() {
  const s = setup();
  fs.writeFileSync(path.join(s.ws, 'a.md'), 'db:\n  port: 5432\n  name: tirguri\n');
  await s.ctrl.start();
  const lines: string[] = [];
  const agents = registerAgentFeatures({ ctrl: s.ctrl, api: lmApi(vscode), extensionPath: REPO, extensionUri: stub.fileUri(REPO) as never, version: '9.9.9', log: (l) => lines.push(l) });
  const engine = s.engines[0];
  const done = async () => {
    for (const d of agents.disposables) d.dispose();
    await s.cleanup();
  };
  return { ...s, engine, agents, lines, done };
}

const text = (r: unknown) => ((r as { content: Array<{ value: string }> }).content ?? []).map((p) => p.value).join('\n');

/** A ChatResponseStream that records every call. */
function recorder() {
  const calls: Array<[string, unknown, unknown?]> = [];
  const stream = {
    markdown: (v: string) => void calls.push(['markdown', v]),
    anchor: (v: unknown, title?: string) => void calls.push(['anchor', v, title]),
    reference: (v: unknown) => void calls.push(['reference', v]),
    progress: (v: string) => void calls.push(['progress', v]),
    button: (v: unknown) => void calls.push(['button', v]),
  };
  const md = () => calls.filter((c) => c[0] === 'markdown').map((c) => c[1]).join('');
  return { calls, stream, md };
}
const token = { isCancellationRequested: false, onCancellationRequested: () => ({ dispose: () => undefined }) } as never;

test('package.json contributes the two tools (referenceable with #, schemas), @memory and the MCP provider under the ids the code registers', async () => {
  const tools = pkg.contributes.languageModelTools as Array<Record<string, any>>;
  assert.deepEqual(tools.map((t) => t.name), [SEARCH_TOOL, ASK_TOOL]);
  assert.deepEqual(tools.map((t) => t.toolReferenceName), ['memorySearch', 'memoryAsk']);
  for (const t of tools) {
    assert.equal(t.canBeReferencedInPrompt, true);
    assert.ok(t.modelDescription.length > 100, t.name);
    assert.equal(t.inputSchema.type, 'object');
    assert.equal(t.inputSchema.additionalProperties, false);
  }
  assert.deepEqual(tools[0].inputSchema.required, ['query']);
  assert.equal(tools[0].inputSchema.properties.k.maximum, 50);
  assert.deepEqual(tools[1].inputSchema.required, ['question']);
  assert.equal(pkg.contributes.chatParticipants[0].id, PARTICIPANT_ID);
  assert.equal(pkg.contributes.chatParticipants[0].name, 'memory');
  assert.equal(pkg.contributes.mcpServerDefinitionProviders[0].id, MCP_PROVIDER_ID);
  assert.equal(pkg.engines.vscode, '^1.90.0', 'older VS Code keeps the sidebar');
  const v = await ready();
  try {
    assert.deepEqual([...stub.registered.tools.keys()].sort(), [ASK_TOOL, SEARCH_TOOL].sort());
    assert.ok(stub.registered.participants.has(PARTICIPANT_ID));
    assert.ok(stub.registered.mcp.has(MCP_PROVIDER_ID));
    assert.deepEqual(v.lines, [], 'nothing is missing on 1.101');
  } finally {
    await v.done();
  }
  assert.equal(stub.registered.tools.size, 0, 'disposed with the extension');
});

test('the search tool through vscode.lm.invokeTool: its invocation message, then chunks with path:lines and text', async () => {
  const v = await ready();
  try {
    const r = await (vscode as any).lm.invokeTool(SEARCH_TOOL, { input: { query: 'db port', k: 2 }, toolInvocationToken: undefined }, token);
    assert.deepEqual(stub.prepared[stub.prepared.length - 1], { invocationMessage: 'Searching CMT Memory for "db port"' });
    assert.ok(r instanceof stub.LanguageModelToolResult);
    const t = text(r);
    assert.match(t, /^2 chunk\(s\) for "db port", best first:/);
    assert.match(t, /a\.md:1-3 \(db\) {2}score 0\.9000\n```\ndb:\n {2}port: 5432/);
    assert.match(t, /b\.md:4-6/);
    assert.deepEqual(v.engine.searchCalls.at(-1), { query: 'db port', k: 2 });
  } finally {
    await v.done();
  }
});

test('the ask tool gives the sidebar\'s answer: the same controller call, the same settings, the same answer, verdict and citations', async () => {
  const v = await ready();
  try {
    stub.config.cmtMemory = { ...stub.config.cmtMemory, topK: 6, alpha: 0.25, maxAnswerTokens: 32, answerMode: 'memory+chunk' };
    v.ctrl.reloadSettings();
    const r = await (vscode as any).lm.invokeTool(ASK_TOOL, { input: { question: 'Which port does tirguri use?' }, toolInvocationToken: undefined }, token);
    assert.deepEqual(stub.prepared[stub.prepared.length - 1], { invocationMessage: 'Asking CMT Memory: "Which port does tirguri use?"' });
    const t = text(r);
    assert.match(t, /^Answer: port 5432\nVerdict: found in source\.\nThe line that holds it:\n {2}a\.md:2 {2}port: 5432\nSources:\n {2}a\.md:1-3 {2}score 0\.9000$/);
    // The sidebar, same question.
    const log = new StatusLog();
    const watcher = new Watcher(v.ctrl, log, { appendLine: () => undefined } as never, v.ctx as never);
    const chat = new ChatViewProvider(v.ctx as never, v.ctrl, watcher, log);
    try {
      const m = await chat.ask('Which port does tirguri use?');
      assert.equal(m?.text, 'port 5432');
      assert.equal(m?.grounding?.verdict, 'found');
      assert.deepEqual(m?.citations?.map((c) => [c.path, c.startLine, c.endLine]), [['a.md', 1, 3]]);
    } finally {
      chat.dispose();
      watcher.dispose();
    }
    const [tool, side] = v.engine.askCalls.slice(-2);
    assert.deepEqual(tool, side, 'one code path: the same question and options reach the engine');
    assert.deepEqual(tool.options, { answerMode: 'memory+chunk', topK: 6, alpha: 0.25, maxNewTokens: 32 });
  } finally {
    await v.done();
  }
});

test('tool errors an agent can act on: bad input, nothing memorized, no engine', async () => {
  const v = await ready();
  try {
    const invoke = (name: string, input: unknown) => (vscode as any).lm.invokeTool(name, { input, toolInvocationToken: undefined }, token);
    for (const input of [{}, { query: '' }, { query: '   ' }, { query: 5 }, { query: 'x', k: 0 }, { query: 'x', k: 51 }, { query: 'x', k: 1.5 }, { query: 'x'.repeat(10_001) }]) {
      await assert.rejects(invoke(SEARCH_TOOL, input), /^Error: CMT Memory: .* \[BAD_INPUT\]$/, JSON.stringify(input).slice(0, 60));
    }
    await assert.rejects(invoke(ASK_TOOL, { question: null }), /\[BAD_INPUT\]/);
    assert.equal(v.engine.searchCalls.length, 0, 'bad input never reaches the engine');
    v.engine.memories = 0;
    await assert.rejects(invoke(SEARCH_TOOL, { query: 'port' }), /Nothing memorized yet\. Memorize your workspace.*\[NOTHING_MEMORIZED\]/);
    await v.ctrl.dispose();
    await assert.rejects(invoke(ASK_TOOL, { question: 'port?' }), /CMT Memory: .*\[ENGINE_CRASHED\]/);
  } finally {
    await v.done();
  }
});

test('@memory: the answer, its verdict, the quoted line and the citations as anchors and references at the lines', async () => {
  const v = await ready();
  try {
    const handler = stub.registered.participants.get(PARTICIPANT_ID)!.handler as ChatRequestHandler;
    const rec = recorder();
    const res = await handler({ prompt: 'Which port does tirguri use?', command: undefined }, {}, rec.stream, token);
    assert.equal(rec.calls[0][0], 'progress');
    assert.match(rec.md(), /^port 5432\n\n\*\*Found in your files\\\.\*\*\n\n- /);
    const anchors = rec.calls.filter((c) => c[0] === 'anchor');
    const abs = path.join(v.ws, 'a.md');
    assert.deepEqual(
      anchors.map((a) => [(a[1] as stub.Location).uri.fsPath, (a[1] as stub.Location).range.startLine, (a[1] as stub.Location).range.endLine, a[2]]),
      [
        [abs, 1, 1, 'a.md:2'],
        [abs, 0, 2, 'a.md:1-3'],
      ],
    );
    const refs = rec.calls.filter((c) => c[0] === 'reference');
    assert.equal(refs.length, 1);
    assert.equal((refs[0][1] as stub.Location).uri.fsPath, abs);
    assert.deepEqual((res as { metadata: unknown }).metadata, { answer: 'port 5432', verdict: 'found', reason: 'in-source', citations: [{ path: 'a.md', startLine: 1, endLine: 3, score: 0.9 }] });
  } finally {
    await v.done();
  }
});

test('@memory never links what is not a workspace file, and escapes what the model wrote', async () => {
  const v = await ready();
  try {
    const handler = stub.registered.participants.get(PARTICIPANT_ID)!.handler as ChatRequestHandler;
    v.engine.answer = '[click](http://evil.example) <img src=x>';
    const orig = v.engine.ask.bind(v.engine);
    v.engine.ask = async (q, o, opts) => {
      const r = await orig(q, o, opts);
      return { ...r, citations: [...r.citations, { path: '../outside.md', startLine: 1, endLine: 1, score: 0.1, excerpt: '' }, { path: 'gone.md', startLine: 1, endLine: 2, score: 0.1, excerpt: '' }] };
    };
    const rec = recorder();
    await handler({ prompt: 'port?', command: undefined }, {}, rec.stream, token);
    assert.ok(rec.md().startsWith('\\[click\\]\\(http://evil\\.example\\) \\<img src=x\\>'), rec.md());
    const anchored = rec.calls.filter((c) => c[0] === 'anchor').map((c) => c[2]);
    assert.deepEqual(anchored, ['a.md:2', 'a.md:1-3']);
    assert.match(rec.md(), /\.\.\/outside\.md:1-1|\\\.\\\.\/outside\\\.md:1\\-1/);
    assert.equal(escapeMd('a*b_c'), 'a\\*b\\_c');
  } finally {
    await v.done();
  }
});

test('@memory /search lists the chunks as anchors; an empty prompt, an empty bank and a stopped engine each get a sentence', async () => {
  const v = await ready();
  try {
    const handler = stub.registered.participants.get(PARTICIPANT_ID)!.handler as ChatRequestHandler;
    let rec = recorder();
    const res = await handler({ prompt: 'db port', command: 'search' }, {}, rec.stream, token);
    assert.deepEqual(rec.calls.filter((c) => c[0] === 'anchor').map((c) => c[2]), ['a.md:1-3']);
    assert.deepEqual((res as any).metadata.hits, [{ path: 'a.md', startLine: 1, endLine: 3, score: 0.9 }]);
    rec = recorder();
    await handler({ prompt: '  ', command: undefined }, {}, rec.stream, token);
    assert.match(rec.md(), /Ask about your memorized files/);
    assert.equal(v.engine.askCalls.length, 0);
    v.engine.memories = 0;
    rec = recorder();
    const r2 = await handler({ prompt: 'port?', command: 'search' }, {}, rec.stream, token);
    assert.match((r2 as any).errorDetails.message, /NOTHING_MEMORIZED/);
    assert.deepEqual(rec.calls.find((c) => c[0] === 'button')?.[1], { command: 'cmtMemory.memorizeWorkspace', title: 'Memorize Workspace' });
    await v.ctrl.dispose();
    (v.ctrl as any)._state = { phase: 'crashed', detail: 'the engine keeps crashing', indexing: null };
    rec = recorder();
    const r3 = await handler({ prompt: 'port?', command: undefined }, {}, rec.stream, token);
    assert.match((r3 as any).errorDetails.message, /not ready: the engine keeps crashing/);
  } finally {
    await v.done();
  }
});

test('a VS Code without these APIs (1.90), or with one it refuses (1.100): what exists is registered, one log line says what is not, nothing throws', async () => {
  const s = setup();
  try {
    await s.ctrl.start();
    const full = lmApi(vscode);
    const v100 = { ...full, registerMcpServerDefinitionProvider: undefined, McpStdioServerDefinition: undefined };
    const lines: string[] = [];
    const a = registerAgentFeatures({ ctrl: s.ctrl, api: v100, extensionPath: REPO, extensionUri: stub.fileUri(REPO) as never, version: '1', log: (l) => lines.push(l) });
    assert.equal(a.disposables.length, 3, 'two tools and the participant');
    assert.equal(a.mcp, undefined);
    assert.equal(lines.length, 1);
    assert.match(lines[0], /MCP server definition .*cmt mcp/);
    assert.match(lines[0], /Nothing is lost: the CMT Memory sidebar chat/);
    for (const d of a.disposables) d.dispose();
    // 1.100 lists the MCP API as a proposal: calling it throws; the rest stays registered.
    const proposed: string[] = [];
    const c = registerAgentFeatures({
      ctrl: s.ctrl,
      api: { ...full, registerMcpServerDefinitionProvider: () => { throw new Error('Extension cannot use API proposal: mcpConfigurationProvider'); } },
      extensionPath: REPO, extensionUri: stub.fileUri(REPO) as never, version: '1', log: (l) => proposed.push(l),
    });
    assert.equal(c.disposables.length, 3);
    assert.equal(c.mcp, undefined);
    assert.equal(proposed.length, 1);
    assert.match(proposed[0], /MCP server definition .*\(Extension cannot use API proposal: mcpConfigurationProvider\)/);
    for (const d of c.disposables) d.dispose();
    const none: string[] = [];
    const b = registerAgentFeatures({ ctrl: s.ctrl, api: lmApi({} as never), extensionPath: REPO, extensionUri: stub.fileUri(REPO) as never, version: '1', log: (l) => none.push(l) });
    assert.equal(b.disposables.length, 0);
    assert.equal(none.length, 1);
    assert.match(none[0], /language-model tools .*@memory chat participant.*MCP server definition/);
  } finally {
    await s.cleanup();
  }
});

test('the MCP server definition: dist/mcp.js on the extension host\'s runtime; the relay token only when VS Code starts it; the relay reaches this engine and no further', async () => {
  const v = await ready();
  try {
    const offer = v.agents.mcp as McpOffer;
    const defs = offer.provideMcpServerDefinitions();
    assert.equal(defs.length, 1);
    const d = defs[0];
    assert.equal(d.label, 'CMT Memory');
    assert.equal(d.command, process.execPath);
    assert.deepEqual(d.args, [path.join(REPO, 'dist', 'mcp.js'), '--root', v.ws, '--version', '9.9.9']);
    assert.deepEqual(d.env, { ELECTRON_RUN_AS_NODE: '1' }, 'no secret in a definition VS Code may cache');
    const r = (await offer.resolveMcpServerDefinition())!;
    const sock = String(r.env.CMT_MCP_RELAY);
    const tok = String(r.env.CMT_MCP_RELAY_TOKEN);
    assert.ok(sock && tok.length >= 32);
    // The relay, as dist/mcp.js uses it.
    const eng = new RelayEngine(sock, tok);
    const st = await eng.status();
    assert.equal(st.memories, 2);
    const s = await eng.search('db port', { k: 1 });
    assert.equal(s.hits[0].path, 'a.md');
    const a = await eng.ask('Which port?');
    assert.equal(a.answer, 'port 5432');
    const m = await eng.memorize({ paths: [path.join(v.ws, 'a.md')], root: v.ws });
    assert.equal(m.memorized, 1);
    assert.deepEqual(v.engine.memorizeCalls.at(-1)?.paths, [path.join(v.ws, 'a.md')]);
    await assert.rejects(eng.memorize({ paths: [path.join(v.ws, '..', 'x.md')], root: v.ws }), /outside the workspace root/);
    await assert.rejects(eng.memorize({ paths: ['a.md'], root: path.dirname(v.ws) }), /this relay serves/);
    await assert.rejects(eng.forget('../x'), /outside the workspace root/);
    await assert.rejects(eng.forget(''), /not the root itself/);
    assert.equal(v.engine.memorizeCalls.length, 1, 'refused writes never reach the engine');
    eng.dispose();
    // A wrong token gets nothing.
    const bad = new RelayEngine(sock, 'x'.repeat(tok.length));
    await assert.rejects(bad.status(), /wrong relay token|lost/);
    bad.dispose();
    // Untrusted workspace: no memorize through the relay.
    const untrusted = new McpOffer(v.ctrl, lmApi(vscode), REPO, '1', () => false);
    const u = (await untrusted.resolveMcpServerDefinition())!;
    const ue = new RelayEngine(String(u.env.CMT_MCP_RELAY), String(u.env.CMT_MCP_RELAY_TOKEN));
    await assert.rejects(ue.memorize({ paths: [path.join(v.ws, 'a.md')], root: v.ws }), /not trusted/);
    ue.dispose();
    untrusted.dispose();
  } finally {
    await v.done();
  }
});

test('FakeEngine keeps EngineClient\'s search signature (the controller\'s EngineLike)', () => {
  const e = new FakeEngine({ init: { packDir: '', bankUri: '', device: 'cpu' } });
  assert.equal(typeof e.search, 'function');
});

test('with the settings left at their defaults, the editor sends no answer options: the pack decides, as for cmt ask and cmt mcp', async () => {
  const v = await ready();
  try {
    stub.config.cmtMemory = { ...stub.config.cmtMemory, topK: null, alpha: null, maxAnswerTokens: null, answerMode: 'default' };
    v.ctrl.reloadSettings();
    await (vscode as any).lm.invokeTool(ASK_TOOL, { input: { question: 'Which port does tirguri use?' }, toolInvocationToken: undefined }, token);
    assert.deepEqual(v.engine.askCalls[v.engine.askCalls.length - 1].options, {});
    for (const key of ['topK', 'alpha', 'maxAnswerTokens']) {
      assert.equal(pkg.contributes.configuration.properties[`cmtMemory.${key}`].default, null, `cmtMemory.${key} defaults to the pack's value`);
    }
  } finally {
    await v.done();
  }
});
