// The chat sidebar (a WebviewView). Everything the webview sends is validated (webviewInput.ts);
// citations are opened from the extension's own copy of the answer (the webview only names a message
// id and an index), and only inside a workspace folder.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { CmtError } from '../core/types';
import { makeNonce, renderChatHtml } from './chatHtml';
import type { MemoryController } from './controller';
import { resolveCitationPath } from './paths';
import type { StatusLog } from './statusLog';
import type { Watcher } from './watcher';
import type { ChatMessage, ToWebview, ViewState } from '../webview/protocol';
import { parseFromWebview } from './webviewInput';

const HISTORY_KEY = 'cmtMemory.chatHistory';
const MAX_HISTORY = 200;

export class ChatViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  static readonly viewId = 'cmtMemory.chat';
  private view: vscode.WebviewView | undefined;
  private history: ChatMessage[];
  private inflight: { id: string; abort: AbortController } | undefined;
  private saveTimer: NodeJS.Timeout | undefined;
  private subs: vscode.Disposable[] = [];

  constructor(
    private readonly ctx: vscode.ExtensionContext,
    private readonly ctrl: MemoryController,
    private readonly watcher: Watcher,
    private readonly log: StatusLog,
  ) {
    this.history = (ctx.workspaceState.get<ChatMessage[]>(HISTORY_KEY) ?? []).map((m) =>
      m.status === 'streaming' ? { ...m, status: 'stopped' } : m,
    );
    this.subs.push(
      ctrl.onDidChangeState(() => this.postState()),
      watcher.onDidChange(() => this.postState()),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.postState()),
    );
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    const media = vscode.Uri.joinPath(this.ctx.extensionUri, 'media');
    // chat.js, bundled from src/webview/chat.ts by scripts/build-extension.mjs
    const script = vscode.Uri.joinPath(this.ctx.extensionUri, 'dist', 'webview');
    // codicon.css + codicon.ttf, copied from @vscode/codicons by scripts/build-extension.mjs
    const codicons = vscode.Uri.joinPath(this.ctx.extensionUri, 'dist', 'codicons');
    view.webview.options = { enableScripts: true, enableCommandUris: false, localResourceRoots: [media, script, codicons] };
    view.webview.html = this.html(view.webview, media, script, codicons);
    this.subs.push(
      view.webview.onDidReceiveMessage((raw) => void this.onMessage(raw)),
      view.onDidDispose(() => {
        if (this.view === view) this.view = undefined;
      }),
    );
  }

  private html(webview: vscode.Webview, media: vscode.Uri, script: vscode.Uri, codicons: vscode.Uri): string {
    return renderChatHtml({
      cspSource: webview.cspSource,
      nonce: makeNonce(),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(script, 'chat.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(media, 'chat.css')).toString(),
      codiconsUri: webview.asWebviewUri(vscode.Uri.joinPath(codicons, 'codicon.css')).toString(),
    });
  }

  private post(msg: ToWebview): void {
    void this.view?.webview.postMessage(msg);
  }

  viewState(): ViewState {
    const st = this.ctrl.state;
    return {
      phase: st.phase,
      detail: st.detail,
      packName: st.packName,
      provider: st.provider,
      memories: st.memories,
      files: st.files,
      indexing: st.indexing ? { done: st.indexing.done, total: st.indexing.total } : null,
      queued: this.watcher.queued,
      trusted: vscode.workspace.isTrusted,
      watching: this.watcher.active,
      busy: this.inflight !== undefined,
    };
  }

  postState(): void {
    this.post({ type: 'state', state: this.viewState() });
  }

  private saveHistory(now = false): void {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    const save = () => void this.ctx.workspaceState.update(HISTORY_KEY, this.history.slice(-MAX_HISTORY));
    if (now) save();
    else this.saveTimer = setTimeout(save, 500);
  }

  newChat(): void {
    this.inflight?.abort.abort();
    this.history = [];
    this.saveHistory(true);
    this.post({ type: 'history', messages: [] });
    this.log.record('new-chat');
  }

  /** Focuses the view and asks (used by the palette and tests). */
  async ask(text: string): Promise<ChatMessage | undefined> {
    return this.onAsk(text);
  }

  private async onMessage(raw: unknown): Promise<void> {
    const msg = parseFromWebview(raw);
    if (!msg) {
      this.log.record('webview-rejected', { raw: JSON.stringify(raw)?.slice(0, 200) });
      return;
    }
    switch (msg.type) {
      case 'ready':
        this.post({ type: 'history', messages: this.history });
        this.postState();
        this.log.record('webview-ready');
        break;
      case 'ask':
        await this.onAsk(msg.text);
        break;
      case 'stop':
        this.inflight?.abort.abort();
        break;
      case 'newChat':
        this.newChat();
        break;
      case 'retry':
        await this.ctrl.retry();
        break;
      case 'copy': {
        const m = this.history.find((h) => h.id === msg.messageId && h.role === 'assistant');
        if (m) {
          await vscode.env.clipboard.writeText(m.text);
          this.post({ type: 'copied', id: m.id });
        }
        break;
      }
      case 'openCitation':
        await this.openCitation(msg.messageId, msg.index);
        break;
      case 'openQuote': {
        const m = this.history.find((h) => h.id === msg.messageId && h.role === 'assistant');
        const q = m?.grounding?.quotes[msg.index];
        if (q) await this.openAt(q.path, q.line, q.line, 'quote-opened');
        break;
      }
      case 'command':
        await vscode.commands.executeCommand(`cmtMemory.${msg.command}`);
        break;
    }
  }

  private async onAsk(text: string): Promise<ChatMessage | undefined> {
    if (this.inflight) return undefined; // one answer at a time (the Send button is disabled meanwhile)
    const id = () => crypto.randomBytes(8).toString('hex');
    const user: ChatMessage = { id: id(), role: 'user', text };
    const bot: ChatMessage = { id: id(), role: 'assistant', text: '', status: 'streaming' };
    this.history.push(user, bot);
    this.post({ type: 'message', message: user });
    this.post({ type: 'message', message: bot });
    const abort = new AbortController();
    this.inflight = { id: bot.id, abort };
    this.postState();
    this.saveHistory(true);
    const t0 = Date.now();
    let tokens = 0;
    let firstTokenMs: number | undefined;
    this.log.record('ask-start', { id: bot.id, question: text });
    try {
      const r = await this.ctrl.ask(
        text,
        (t) => {
          tokens++;
          if (firstTokenMs === undefined) {
            firstTokenMs = Date.now() - t0;
            this.log.record('ask-first-token', { id: bot.id, ms: firstTokenMs });
          }
          bot.text += t;
          this.post({ type: 'token', id: bot.id, text: t });
        },
        abort.signal,
      );
      bot.text = r.answer;
      bot.citations = r.citations.map((c) => ({
        path: c.path,
        startLine: c.startLine,
        endLine: c.endLine,
        score: c.score,
        excerpt: c.excerpt.slice(0, 400),
      }));
      bot.grounding = r.grounding;
      bot.status = 'done';
      bot.ms = Date.now() - t0;
      this.log.record('ask-done', {
        id: bot.id,
        answer: r.answer,
        tokens,
        firstTokenMs,
        ms: bot.ms,
        citations: bot.citations.map((c) => ({ path: c.path, startLine: c.startLine, endLine: c.endLine, score: c.score })),
        grounding: { verdict: r.grounding.verdict, reason: r.grounding.reason, memoryGain: r.grounding.memoryGain, quotes: r.grounding.quotes.map((q) => `${q.path}:${q.line}`) },
      });
    } catch (e) {
      const err = e instanceof CmtError ? e : new CmtError('INTERNAL', String((e as Error)?.message ?? e));
      if (err.code === 'CANCELLED') {
        bot.status = 'stopped';
      } else {
        bot.status = 'error';
        bot.error = err.message;
      }
      this.log.record('ask-end', { id: bot.id, status: bot.status, code: err.code, message: err.message, tokens });
    } finally {
      this.inflight = undefined;
    }
    // (a New Chat while streaming has already dropped this exchange: don't bring it back)
    if (this.history.includes(bot)) {
      this.post({ type: 'message', message: bot });
      this.saveHistory(true);
    }
    this.postState();
    return bot;
  }

  private async openCitation(messageId: string, index: number): Promise<void> {
    const m = this.history.find((h) => h.id === messageId && h.role === 'assistant');
    const c = m?.citations?.[index];
    if (!c) return;
    await this.openAt(c.path, c.startLine, c.endLine, 'citation-opened');
  }

  /** Opens a workspace file (citation path) at lines start..end, highlighted for a few seconds. */
  private async openAt(relPath: string, startLine: number, endLine: number, event: 'citation-opened' | 'quote-opened'): Promise<void> {
    const c = { path: relPath, startLine, endLine };
    const abs = resolveCitationPath(this.ctrl.roots(), c.path, (p) => {
      try {
        return fs.statSync(p).isFile();
      } catch {
        return false;
      }
    });
    if (!abs) {
      this.log.record('citation-refused', { path: c.path });
      void vscode.window.showWarningMessage(`CMT Memory: ${c.path} is not a file in this workspace (moved or deleted?).`);
      return;
    }
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(abs));
    const start = Math.max(0, Math.min(doc.lineCount - 1, c.startLine - 1));
    const end = Math.max(start, Math.min(doc.lineCount - 1, c.endLine - 1));
    const range = new vscode.Range(start, 0, end, doc.lineAt(end).text.length);
    const editor = await vscode.window.showTextDocument(doc, { selection: new vscode.Range(start, 0, start, 0), preview: true });
    editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    editor.setDecorations(this.highlight, [range]);
    setTimeout(() => editor.setDecorations(this.highlight, []), 4000);
    const active = vscode.window.activeTextEditor;
    this.log.record(event, {
      path: c.path,
      startLine: c.startLine,
      endLine: c.endLine,
      activeFile: active?.document.uri.fsPath,
      activeLine: active ? active.selection.active.line + 1 : undefined,
    });
  }

  private readonly highlight = vscode.window.createTextEditorDecorationType({
    isWholeLine: true,
    backgroundColor: new vscode.ThemeColor('editor.rangeHighlightBackground'),
  });

  dispose(): void {
    this.inflight?.abort.abort();
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveHistory(true);
    for (const s of this.subs) s.dispose();
    this.highlight.dispose();
  }
}
