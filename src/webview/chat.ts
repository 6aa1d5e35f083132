// CMT Memory chat webview (browser code, bundled by scripts/build-extension.mjs into dist/webview/chat.js).
// Talks to the extension only through postMessage, with the messages of protocol.ts (which the
// extension imports too); renders text with textContent (never innerHTML), so answers and file
// excerpts cannot inject markup. The wording of states comes from wording.ts.
import type { ChatMessage, FromWebview, ToWebview, ViewState, WebviewCommand } from './protocol';
import { WORDING } from './wording';

interface SavedState {
  draft?: string;
}
interface VsCodeApi {
  postMessage(msg: FromWebview): void;
  getState(): SavedState | undefined;
  setState(s: SavedState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

(function () {
  const vscode = acquireVsCodeApi();
  const $ = (id: string) => document.getElementById(id) as HTMLElement;
  const log = $('log');
  const banner = $('banner');
  const input = $('input') as HTMLTextAreaElement;
  const send = $('send') as HTMLButtonElement;
  const stop = $('stop') as HTMLButtonElement;
  const hint = $('hint');
  let state: ViewState = { phase: 'starting', trusted: true, watching: true, busy: false };
  const nodes = new Map<string, HTMLElement>();

  // keep an unsent draft across reloads of the view
  const saved = vscode.getState() || {};
  if (typeof saved.draft === 'string') input.value = saved.draft;
  input.addEventListener('input', () => vscode.setState({ draft: input.value }));

  function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  /** A button with an optional codicon before its visible label (the label stays the accessible name). */
  function button(label: string, cls: string, onClick: () => void, title?: string, icon?: string): HTMLButtonElement {
    const b = el('button', cls);
    if (icon) {
      const i = el('span', `codicon codicon-${icon}`);
      i.setAttribute('aria-hidden', 'true');
      b.appendChild(i);
    }
    b.appendChild(el('span', 'label', label));
    b.type = 'button';
    if (title) b.title = title;
    b.addEventListener('click', onClick);
    return b;
  }
  /**
   * A list of links (quotes, citations): `fill` dresses link i and names the message its click sends
   * (the extension looks the target up in its own copy of the answer).
   */
  function linkList<T>(cls: string, label: string, items: readonly T[], fill: (item: T, i: number, a: HTMLAnchorElement) => FromWebview): HTMLUListElement {
    const ul = el('ul', cls);
    ul.setAttribute('aria-label', label);
    items.forEach((item, i) => {
      const li = el('li');
      const a = el('a');
      a.href = '#';
      a.dataset.index = String(i);
      const msg = fill(item, i, a);
      a.addEventListener('click', (ev) => {
        ev.preventDefault();
        vscode.postMessage(msg);
      });
      li.appendChild(a);
      ul.appendChild(li);
    });
    return ul;
  }
  /**
   * The grounding verdict of an answer (src/core/ground.ts): "Found in source" with the line that
   * holds it, or "Not sure" in plain words with the most relevant lines. Quotes open the file there.
   */
  function renderGrounding(m: ChatMessage & { grounding: NonNullable<ChatMessage['grounding']> }): HTMLElement {
    const g = m.grounding;
    const found = g.verdict === 'found';
    const box = el('div', `grounding ${found ? 'found' : 'not-sure'}`);
    box.dataset.verdict = g.verdict;
    box.dataset.reason = g.reason;
    box.setAttribute('role', 'status');
    const head = el('div', 'verdict');
    const ic = el('span', `codicon codicon-${found ? 'pass' : 'question'}`);
    ic.setAttribute('aria-hidden', 'true');
    head.appendChild(ic);
    head.appendChild(el('strong', 'label', found ? 'Found in source' : 'Not sure'));
    if (!found) head.appendChild(el('span', 'why', ` — ${String(g.message || '').replace(/^Not sure:\s*/, '')}`));
    box.appendChild(head);
    if (g.quotes && g.quotes.length) {
      if (!found) box.appendChild(el('div', 'muted', 'Most relevant lines in your files:'));
      const ul = linkList('quotes', found ? 'Where the answer is' : 'Most relevant lines', g.quotes, (q, i, a) => {
        a.className = 'quote';
        a.dataset.path = q.path;
        a.dataset.line = String(q.line);
        a.setAttribute('aria-label', `Open ${q.path} at line ${q.line}`);
        a.appendChild(el('q', 'line', q.text));
        a.appendChild(el('span', 'loc', ` ${q.path}:${q.line}`));
        return { type: 'openQuote', messageId: m.id, index: i };
      });
      box.appendChild(ul);
    }
    return box;
  }

  const atBottom = () => log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  const scroll = (force: boolean) => {
    if (force || atBottom()) log.scrollTop = log.scrollHeight;
  };

  function render(m: ChatMessage): HTMLElement {
    const wrap = el('div', `msg ${m.role}${m.status === 'streaming' ? ' streaming' : ''}`);
    wrap.dataset.id = m.id;
    wrap.dataset.status = m.status || '';
    wrap.setAttribute('aria-label', m.role === 'user' ? 'You' : 'CMT Memory');
    wrap.appendChild(el('div', 'who', m.role === 'user' ? 'You' : 'CMT Memory'));
    const grounding = m.role === 'assistant' && m.status === 'done' ? m.grounding : undefined;
    // a "not sure" answer is shown as a guess (muted, labelled), never as a plain fact; an output that
    // is no answer at all (a repetition loop, the prompt's own example) is not shown
    const withheld = !!grounding?.noAnswer;
    const text = wrap.appendChild(el('div', withheld ? 'text withheld' : grounding && grounding.verdict !== 'found' ? 'text guess' : 'text', withheld ? WORDING.withheld : m.text));
    if (grounding) {
      wrap.dataset.verdict = grounding.verdict;
      if (grounding.verdict !== 'found' && !withheld) text.setAttribute('aria-label', `Unverified guess: ${m.text}`);
      wrap.appendChild(renderGrounding({ ...m, grounding }));
    }
    if (m.role === 'assistant' && m.status !== 'streaming') {
      if (m.status === 'error') wrap.appendChild(el('div', 'error', `Error: ${m.error || 'unknown error'}`));
      if (m.status === 'stopped') wrap.appendChild(el('div', 'muted', 'Stopped.'));
      if (m.citations && m.citations.length) {
        const ul = linkList('citations', 'Sources', m.citations, (c, i, a) => {
          a.className = 'cite';
          a.dataset.path = c.path;
          a.dataset.line = String(c.startLine);
          a.title = c.excerpt;
          a.setAttribute('aria-label', `Open source ${i + 1}: ${c.path} lines ${c.startLine} to ${c.endLine}`);
          a.appendChild(document.createTextNode(`[${i + 1}] ${c.path}:${c.startLine}-${c.endLine} `));
          a.appendChild(el('span', 'score', c.score.toFixed(3)));
          return { type: 'openCitation', messageId: m.id, index: i };
        });
        wrap.appendChild(ul);
      }
      const meta = el('div', 'meta');
      if (m.text) {
        const copy = button('Copy', 'secondary small copy', () => vscode.postMessage({ type: 'copy', messageId: m.id }), 'Copy the answer', 'copy');
        copy.setAttribute('aria-label', 'Copy answer');
        meta.appendChild(copy);
      }
      if (typeof m.ms === 'number') meta.appendChild(el('span', 'muted', `${(m.ms / 1000).toFixed(1)} s`));
      if (meta.childNodes.length) wrap.appendChild(meta);
    }
    return wrap;
  }

  function upsert(m: ChatMessage): void {
    const old = nodes.get(m.id);
    const node = render(m);
    nodes.set(m.id, node);
    if (old) old.replaceWith(node);
    else log.appendChild(node);
    scroll(!old);
  }

  function renderBanner(): void {
    banner.textContent = '';
    banner.className = '';
    const s = state;
    const detail = s.detail || '';
    const p = (t: string) => banner.appendChild(el('p', '', t));
    const act = (label: string, command: WebviewCommand, secondary?: boolean) =>
      banner.appendChild(button(label, secondary ? 'secondary' : '', () => vscode.postMessage({ type: 'command', command })));
    switch (s.phase) {
      case 'noWorkspace':
        p(WORDING.noWorkspace);
        break;
      case 'noPack':
        banner.className = 'warn';
        p(WORDING.noPack(detail));
        act('Select Model Pack…', 'selectPack');
        break;
      case 'starting':
        p(WORDING.starting);
        break;
      case 'restarting':
        banner.className = 'warn';
        p(WORDING.restarting(detail));
        break;
      case 'crashed':
      case 'error':
        banner.className = 'error';
        p(s.phase === 'crashed' ? WORDING.crashed(detail) : WORDING.startFailed(detail));
        banner.appendChild(button('Retry', '', () => vscode.postMessage({ type: 'retry' }), 'Restart the engine', 'refresh'));
        act('Show Status', 'showStatus', true);
        break;
      case 'ready':
        if (s.indexing) p(WORDING.memorizing(s.indexing.done, s.indexing.total));
        else if (!s.memories) {
          p(WORDING.nothingMemorized);
          act('Memorize Workspace', 'memorizeWorkspace');
        }
        break;
    }
    if (!s.trusted) {
      banner.appendChild(el('p', 'muted', WORDING.untrusted));
      if (!banner.className) banner.className = 'warn';
    }
  }

  function renderControls(): void {
    const s = state;
    const canAsk = s.phase === 'ready' || s.phase === 'starting' || s.phase === 'restarting';
    send.disabled = s.busy || !canAsk;
    stop.hidden = !s.busy;
    const bits: string[] = [];
    if (s.phase === 'ready') {
      bits.push(WORDING.memories(s.memories ?? 0));
      if (s.provider) bits.push(s.provider);
      if (!s.watching) bits.push(WORDING.notWatching);
      if (s.queued) bits.push(WORDING.queued(s.queued));
    }
    hint.textContent = bits.join(' · ');
  }

  function ask(): void {
    const text = input.value.trim();
    if (!text || send.disabled) return;
    vscode.postMessage({ type: 'ask', text });
    input.value = '';
    vscode.setState({ draft: '' });
  }

  $('composer').addEventListener('submit', (e) => {
    e.preventDefault();
    ask();
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      ask();
    } else if (e.key === 'Escape' && state.busy) {
      e.preventDefault();
      vscode.postMessage({ type: 'stop' });
    }
  });
  stop.addEventListener('click', () => vscode.postMessage({ type: 'stop' }));
  $('newChat').addEventListener('click', () => vscode.postMessage({ type: 'newChat' }));

  window.addEventListener('message', (ev: MessageEvent<ToWebview>) => {
    const m = ev.data;
    if (!m || typeof m !== 'object') return;
    switch (m.type) {
      case 'state':
        state = m.state;
        renderBanner();
        renderControls();
        break;
      case 'history':
        log.textContent = '';
        nodes.clear();
        for (const x of m.messages) upsert(x);
        scroll(true);
        break;
      case 'message':
        upsert(m.message);
        break;
      case 'token': {
        const t = nodes.get(m.id)?.querySelector('.text');
        if (t) {
          t.textContent += m.text;
          scroll(false);
        }
        break;
      }
      case 'copied': {
        const b = nodes.get(m.id)?.querySelector('button.copy');
        const label = b?.querySelector('.label');
        const ic = b?.querySelector('.codicon');
        if (label) {
          label.textContent = 'Copied';
          if (ic) ic.className = 'codicon codicon-check';
          setTimeout(() => {
            label.textContent = 'Copy';
            if (ic) ic.className = 'codicon codicon-copy';
          }, 1500);
        }
        break;
      }
    }
  });
  vscode.postMessage({ type: 'ready' });
})();
