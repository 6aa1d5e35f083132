// @ts-check
// CMT Memory chat webview. Talks to the extension only through postMessage; renders text with
// textContent (never innerHTML), so answers and file excerpts cannot inject markup.
(function () {
  // eslint-disable-next-line no-undef
  const vscode = acquireVsCodeApi();
  const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
  const log = $('log');
  const banner = $('banner');
  const input = /** @type {HTMLTextAreaElement} */ ($('input'));
  const send = /** @type {HTMLButtonElement} */ ($('send'));
  const stop = /** @type {HTMLButtonElement} */ ($('stop'));
  const hint = $('hint');
  /** @type {any} */ let state = { phase: 'starting', trusted: true, watching: true, busy: false };
  /** @type {Map<string, HTMLElement>} */ const nodes = new Map();

  // keep an unsent draft across reloads of the view
  const saved = vscode.getState() || {};
  if (typeof saved.draft === 'string') input.value = saved.draft;
  input.addEventListener('input', () => vscode.setState({ draft: input.value }));

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  /** A button with an optional codicon before its visible label (the label stays the accessible name). */
  function button(label, cls, onClick, title, icon) {
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
   * The grounding verdict of an answer (src/core/ground.ts): "Found in source" with the line that
   * holds it, or "Not sure" in plain words with the most relevant lines. Quotes open the file there.
   */
  function renderGrounding(m) {
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
      const ul = el('ul', 'quotes');
      ul.setAttribute('aria-label', found ? 'Where the answer is' : 'Most relevant lines');
      g.quotes.forEach((q, i) => {
        const li = el('li');
        const a = el('a', 'quote');
        a.href = '#';
        a.dataset.index = String(i);
        a.dataset.path = q.path;
        a.dataset.line = String(q.line);
        a.setAttribute('aria-label', `Open ${q.path} at line ${q.line}`);
        a.appendChild(el('q', 'line', q.text));
        a.appendChild(el('span', 'loc', ` ${q.path}:${q.line}`));
        a.addEventListener('click', (ev) => {
          ev.preventDefault();
          vscode.postMessage({ type: 'openQuote', messageId: m.id, index: i });
        });
        li.appendChild(a);
        ul.appendChild(li);
      });
      box.appendChild(ul);
    }
    return box;
  }

  const atBottom = () => log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  const scroll = (force) => { if (force || atBottom()) log.scrollTop = log.scrollHeight; };

  function render(m) {
    const wrap = el('div', `msg ${m.role}${m.status === 'streaming' ? ' streaming' : ''}`);
    wrap.dataset.id = m.id;
    wrap.dataset.status = m.status || '';
    wrap.setAttribute('aria-label', m.role === 'user' ? 'You' : 'CMT Memory');
    wrap.appendChild(el('div', 'who', m.role === 'user' ? 'You' : 'CMT Memory'));
    const grounded = m.role === 'assistant' && m.status === 'done' && m.grounding;
    // a "not sure" answer is shown as a guess (muted, labelled), never as a plain fact
    const text = wrap.appendChild(el('div', grounded && m.grounding.verdict !== 'found' ? 'text guess' : 'text', m.text));
    if (grounded) {
      wrap.dataset.verdict = m.grounding.verdict;
      if (m.grounding.verdict !== 'found') text.setAttribute('aria-label', `Unverified guess: ${m.text}`);
      wrap.appendChild(renderGrounding(m));
    }
    if (m.role === 'assistant' && m.status !== 'streaming') {
      if (m.status === 'error') wrap.appendChild(el('div', 'error', `Error: ${m.error || 'unknown error'}`));
      if (m.status === 'stopped') wrap.appendChild(el('div', 'muted', 'Stopped.'));
      if (m.citations && m.citations.length) {
        const ul = el('ul', 'citations');
        ul.setAttribute('aria-label', 'Sources');
        m.citations.forEach((c, i) => {
          const li = el('li');
          const a = el('a', 'cite');
          a.href = '#';
          a.dataset.index = String(i);
          a.dataset.path = c.path;
          a.dataset.line = String(c.startLine);
          a.title = c.excerpt;
          a.setAttribute('aria-label', `Open source ${i + 1}: ${c.path} lines ${c.startLine} to ${c.endLine}`);
          a.appendChild(document.createTextNode(`[${i + 1}] ${c.path}:${c.startLine}-${c.endLine} `));
          a.appendChild(el('span', 'score', c.score.toFixed(3)));
          a.addEventListener('click', (ev) => {
            ev.preventDefault();
            vscode.postMessage({ type: 'openCitation', messageId: m.id, index: i });
          });
          li.appendChild(a);
          ul.appendChild(li);
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

  function upsert(m) {
    const old = nodes.get(m.id);
    const node = render(m);
    nodes.set(m.id, node);
    if (old) old.replaceWith(node);
    else log.appendChild(node);
    scroll(!old);
  }

  function renderBanner() {
    banner.textContent = '';
    banner.className = '';
    const s = state;
    const p = (t) => banner.appendChild(el('p', '', t));
    const act = (label, command, secondary) =>
      banner.appendChild(button(label, secondary ? 'secondary' : '', () => vscode.postMessage({ type: 'command', command })));
    switch (s.phase) {
      case 'noWorkspace':
        p('Open a folder to give CMT Memory something to memorize.');
        break;
      case 'noPack':
        banner.className = 'warn';
        p(`No model pack. ${s.detail || ''}`);
        act('Select Model Pack…', 'selectPack');
        break;
      case 'starting':
        p('Starting the engine…');
        break;
      case 'restarting':
        banner.className = 'warn';
        p(`The engine stopped unexpectedly and is restarting. ${s.detail || ''}`);
        break;
      case 'crashed':
      case 'error':
        banner.className = 'error';
        p(s.phase === 'crashed' ? `The engine keeps crashing. ${s.detail || ''}` : `The engine could not start. ${s.detail || ''}`);
        banner.appendChild(button('Retry', '', () => vscode.postMessage({ type: 'retry' }), 'Restart the engine', 'refresh'));
        act('Show Status', 'showStatus', true);
        break;
      case 'ready':
        if (s.indexing) p(`Memorizing… ${s.indexing.done}/${s.indexing.total} files`);
        else if (!s.memories) {
          p('Nothing memorized yet. Memorize your workspace (or a file: right-click it → CMT Memory: Memorize File), then ask.');
          act('Memorize Workspace', 'memorizeWorkspace');
        }
        break;
    }
    if (!s.trusted) {
      const t = el('p', 'muted', 'This workspace is not trusted: files are not memorized automatically. Memorize commands still work.');
      banner.appendChild(t);
      if (!banner.className) banner.className = 'warn';
    }
  }

  function renderControls() {
    const s = state;
    const canAsk = s.phase === 'ready' || s.phase === 'starting' || s.phase === 'restarting';
    send.disabled = s.busy || !canAsk;
    stop.hidden = !s.busy;
    const bits = [];
    if (s.phase === 'ready') {
      bits.push(`${s.memories ?? 0} memories`);
      if (s.provider) bits.push(s.provider);
      if (!s.watching) bits.push('not watching');
      if (s.queued) bits.push(`${s.queued} queued`);
    }
    hint.textContent = bits.join(' · ');
  }

  function ask() {
    const text = input.value.trim();
    if (!text || send.disabled) return;
    vscode.postMessage({ type: 'ask', text });
    input.value = '';
    vscode.setState({ draft: '' });
  }

  $('composer').addEventListener('submit', (e) => { e.preventDefault(); ask(); });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); ask(); }
    else if (e.key === 'Escape' && state.busy) { e.preventDefault(); vscode.postMessage({ type: 'stop' }); }
  });
  stop.addEventListener('click', () => vscode.postMessage({ type: 'stop' }));
  $('newChat').addEventListener('click', () => vscode.postMessage({ type: 'newChat' }));

  window.addEventListener('message', (ev) => {
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
        const node = nodes.get(m.id);
        const t = node && node.querySelector('.text');
        if (t) { t.textContent += m.text; scroll(false); }
        break;
      }
      case 'copied': {
        const b = nodes.get(m.id)?.querySelector('button.copy');
        const label = b && b.querySelector('.label');
        const ic = b && b.querySelector('.codicon');
        if (label) {
          label.textContent = 'Copied';
          if (ic) ic.className = 'codicon codicon-check';
          setTimeout(() => { label.textContent = 'Copy'; if (ic) ic.className = 'codicon codicon-copy'; }, 1500);
        }
        break;
      }
    }
  });
  vscode.postMessage({ type: 'ready' });
})();
