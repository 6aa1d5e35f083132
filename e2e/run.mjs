// End-to-end test of CMT Memory in a real VS Code (code-server) driven by headless Chromium.
// Asserts on the JSONL status file the extension writes (CMT_STATUS_FILE) and on the UI; a screenshot
// of every step goes to artifacts/e2e/. Prints `e2e: N passed, M failed`.
import fs from 'node:fs';
import path from 'node:path';
import { launch, workbenchUrl, WS, OUT, EXT_ID, DEV, event, events, mark, waitFor, sleep } from './lib.mjs';

const TARGET = process.env.E2E_FILE ?? 'notes/2024-02-04-kafezeis-planning.md';
const QUESTION = process.env.E2E_QUESTION ?? 'How much memory is each kafezeis pod limited to?';
const GEN_FILES = Number(process.env.E2E_GEN_FILES ?? 2000);
// The answer the sample question must get from a real model pack (the random-weight test pack is exempt).
const GOLD = process.env.E2E_GOLD ?? '448Mi';
// A question about a real public project copied into the workspace by scripts/e2e.sh (express, the
// pinned npm tarball of benchmarks/real/), answered after the bulk memorize step.
const REAL_DIR = process.env.E2E_REAL_DIR ?? 'express';
// The real-dev question verbatim (benchmarks/real/questions/express.json). Without the backticks
// the run 11 reader answers the key ("node") instead of its value: docs/RESULTS.md, "Answers on real files".
const REAL_QUESTION = process.env.E2E_REAL_QUESTION ?? "What does express's package.json require in `engines.node`?";
const REAL_GOLD = process.env.E2E_REAL_GOLD ?? '>= 0.10.0';
const PACK_NAME = (() => {
  try {
    return JSON.parse(fs.readFileSync(path.join(process.env.E2E_PACK ?? '', 'pack.json'), 'utf8')).name;
  } catch {
    return undefined;
  }
})();
let passed = 0, failed = 0, shot = 0;
const { page, close } = await launch();
const snap = async (name) => page.screenshot({ path: path.join(OUT, `${String(++shot).padStart(2, '0')}-${name}.png`) }).catch(() => {});

async function step(name, fn, { critical = true } = {}) {
  const t = Date.now();
  try {
    await fn();
    passed++;
    console.log(`ok   ${name} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
    return true;
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${String(e?.message ?? e).split('\n')[0]}`);
    await snap(`FAIL-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 40)}`);
    if (critical) throw e;
    return false;
  }
}

async function palette(command) {
  const input = page.locator('.quick-input-widget input');
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: command }).first();
  for (let i = 0; ; i++) {
    try {
      await page.keyboard.press('Escape');
      await page.locator('.editor-group-container, .editor-container').first().click({ position: { x: 300, y: 300 } }).catch(() => {}); // focus the workbench, not a webview
      await page.keyboard.press('F1');
      await input.waitFor({ state: 'visible', timeout: 3000 });
      await input.fill(`>${command}`);
      await row.waitFor({ timeout: 5000 });
      break;
    } catch (e) {
      if (i >= 5) throw e;
      await sleep(1000);
    }
  }
  await page.keyboard.press('Enter');
}

async function openFile(rel) {
  const input = page.locator('.quick-input-widget input');
  for (let i = 0; ; i++) {
    try {
      await page.keyboard.press('Escape');
      await page.keyboard.press('Control+P');
      await input.waitFor({ state: 'visible', timeout: 3000 });
      await input.fill(rel);
      await page.locator('.quick-input-list .monaco-list-row', { hasText: path.basename(rel) }).first().waitFor({ timeout: 8000 });
      break;
    } catch (e) {
      if (i >= 5) throw e;
      await sleep(1000);
    }
  }
  await page.keyboard.press('Enter');
  await page.locator('.tabs-container .tab.active', { hasText: path.basename(rel) }).waitFor({ timeout: 15000 });
}

const chat = () => page.frameLocator(`iframe.webview[src*="extensionId=${EXT_ID}"]`).frameLocator('#active-frame');
/** Shows the chat view (clicking the activity-bar icon of an open container would hide it). */
async function showChat() {
  // Clicking the activity-bar item of an already open container closes it: after a reload VS Code
  // restores the open sidebar before its webview is visible, so click only when the item is inactive.
  const item = page.locator('.activitybar [aria-label^="CMT Memory"]').first();
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await chat().locator('#input').isVisible().catch(() => false)) return;
    const active = await item
      .evaluate((el) => {
        const li = el.closest('li') ?? el;
        return li.classList.contains('checked') || li.getAttribute('aria-pressed') === 'true' || li.getAttribute('aria-expanded') === 'true';
      })
      .catch(() => false);
    if (!active) await item.click();
    try {
      await chat().locator('#input').waitFor({ timeout: 10000 });
      return;
    } catch {
      /* retry */
    }
  }
  await chat().locator('#input').waitFor({ timeout: 10000 });
}

/**
 * Types `question` into the sidebar and waits for the streamed answer; checks it streamed, shows the
 * engine's answer and cites. With a real pack the answer must contain `gold` and be marked found
 * (`mustBeFound`), or else the sidebar must show the engine's verdict and, for "not sure", quote the
 * line that holds `gold`.
 */
async function askInSidebar(question, gold, { mustBeFound = true } = {}) {
  await showChat();
  const view = chat();
  const m = mark();
  await view.locator('#input').click();
  await view.locator('#input').pressSequentially(question, { delay: 10 });
  await view.locator('#input').press('Enter'); // Enter sends
  await event('ask-start', { after: m, timeout: 15000 });
  const done = await event('ask-done', { after: m, timeout: 120000 });
  const first = events().slice(m).find((e) => e.event === 'ask-first-token');
  if (!(done.tokens >= 2)) throw new Error(`answer did not stream (tokens=${done.tokens})`);
  if (!done.citations?.length) throw new Error('no citations');
  await view.locator('.msg.assistant[data-status="done"]').last().waitFor({ timeout: 10000 });
  const shown = await view.locator('.msg.assistant .text').last().textContent({ timeout: 10000 });
  if (shown !== done.answer) throw new Error(`webview shows ${JSON.stringify(shown)} but answer was ${JSON.stringify(done.answer)}`);
  await view.locator('.msg.assistant a.cite').first().waitFor({ timeout: 10000 });
  console.log(`     ${done.tokens} streamed pieces, first after ${first?.ms} ms, total ${done.ms} ms; answer ${JSON.stringify(done.answer).slice(0, 60)}`);
  console.log(`     citations: ${done.citations.map((c) => `${c.path}:${c.startLine}-${c.endLine}`).join(', ')}`);
  if (PACK_NAME && PACK_NAME !== 'cmt-tiny') {
    // a real model must answer right, and say it found it in the source
    if (!done.answer.includes(gold)) throw new Error(`answer ${JSON.stringify(done.answer)} does not contain the gold answer ${gold} (pack ${PACK_NAME})`);
    const g = done.grounding;
    if (mustBeFound && g?.verdict !== 'found') throw new Error(`right answer not marked "found in source": ${JSON.stringify(g)}`);
    if (!g || !['found', 'not-sure'].includes(g.verdict)) throw new Error(`no grounding verdict: ${JSON.stringify(g)}`);
    // ask-done carries quotes as "path:line": read the quoted lines from the workspace.
    const quotedLine = (q) => {
      const [, rel, line] = /^(.*):(\d+)$/.exec(typeof q === 'string' ? q : `${q.path}:${q.line}`) ?? [];
      try {
        return fs.readFileSync(path.join(WS, rel), 'utf8').split('\n')[Number(line) - 1] ?? '';
      } catch {
        return '';
      }
    };
    if (g.verdict !== 'found' && !g.quotes?.some((q) => quotedLine(q).includes(gold))) throw new Error(`"not sure" without the line that holds ${gold}: ${JSON.stringify(g.quotes)}`);
    const box = view.locator('.msg.assistant[data-status="done"]').last().locator('.grounding');
    await box.waitFor({ state: 'visible', timeout: 10000 });
    if ((await box.getAttribute('data-verdict')) !== g.verdict) throw new Error(`the sidebar shows verdict ${await box.getAttribute('data-verdict')}, the engine said ${g.verdict}`);
    console.log(`     correct: the answer contains ${gold}; verdict ${g.verdict} (${g.reason}) in the engine and the sidebar${g.verdict === 'found' ? '' : ', with the line that holds it quoted'} (pack ${PACK_NAME})`);
  }
  return done;
}

let askDone;
try {
  await step(`workbench loads, extension activates, engine starts (${DEV ? 'working tree' : 'installed .vsix'})`, async () => {
    await page.goto(workbenchUrl());
    await page.locator('.monaco-workbench').waitFor({ timeout: 90000 });
    await event('activate', { timeout: 90000 });
    const ready = await event('engine-ready', { timeout: 90000 });
    console.log(`     engine pid ${ready.pid}, pack ${ready.packName} (${ready.packId}) on ${ready.provider}`);
    // installed as a user installs it: the default pack is the pack extension's, found without a setting
    if (!DEV && PACK_NAME && PACK_NAME !== 'cmt-tiny' && !/cmt-memory\.cmt-memory-pack-[^/]*\/pack$/.test(ready.packDir ?? '')) {
      throw new Error(`the engine did not load the pack extension's pack: ${ready.packDir}`);
    }
    await page.locator('.statusbar-item', { hasText: 'CMT' }).first().waitFor({ timeout: 15000 });
    await page.mouse.click(700, 450);
    await snap('workbench');
  });

  await step('sidebar shows "nothing memorized yet"', async () => {
    await showChat();
    await chat().locator('#banner', { hasText: 'Nothing memorized yet' }).waitFor({ timeout: 20000 });
    await snap('empty-state');
  }, { critical: false });

  await step(`"CMT Memory: Memorize File" from the command palette memorizes ${TARGET}`, async () => {
    await openFile(TARGET);
    const m = mark();
    await palette('CMT Memory: Memorize File');
    const done = await event('memorize-done', { after: m, where: (e) => e.trigger === 'command', timeout: 60000 });
    if (done.memorized + done.unchanged < 1 || !done.paths?.includes(TARGET)) throw new Error(`unexpected: ${JSON.stringify(done)}`);
    await page.locator('.notification-toast', { hasText: 'CMT Memory' }).first().waitFor({ timeout: 10000 }).catch(() => {});
    await snap('memorize-file');
    await event('status', { after: m, where: (e) => e.memories > 0, timeout: 20000 });
  });

  await step('question in the sidebar streams an answer with citations (with the real pack: the right answer, found in source or not sure with the line that holds it quoted)', async () => {
    // The sidebar answers with the pack's settings (as cmt ask does), whose confidence floor marks
    // few right answers found (docs/RESULTS.md, "Grounding"): either verdict, with its evidence.
    askDone = await askInSidebar(QUESTION, GOLD, { mustBeFound: false });
    await snap('answer');
  });

  await step('the answer shows its grounding verdict ("Found in source" or "Not sure"); a quoted line opens the file there', async () => {
    const view = chat();
    const g = askDone.grounding;
    if (!g || !['found', 'not-sure'].includes(g.verdict)) throw new Error(`no grounding verdict in ask-done: ${JSON.stringify(g)}`);
    const msg = view.locator('.msg.assistant[data-status="done"]').last();
    const box = msg.locator('.grounding');
    await box.waitFor({ state: 'visible', timeout: 10000 });
    const verdict = await box.getAttribute('data-verdict');
    if (verdict !== g.verdict) throw new Error(`webview shows verdict ${verdict}, engine said ${g.verdict}`);
    const label = (await box.locator('.verdict').textContent()) ?? '';
    if (!(g.verdict === 'found' ? /^Found in source/ : /^Not sure — /).test(label)) throw new Error(`verdict label ${JSON.stringify(label)}`);
    if (g.verdict !== 'found' && !(await msg.locator('.text.guess').count())) throw new Error('a "not sure" answer is not marked as a guess');
    console.log(`     verdict: ${g.verdict} (${g.reason}, memory gain ${g.memoryGain}); quotes: ${g.quotes.join(', ')}`);
    await msg.screenshot({ path: path.join(OUT, `${String(++shot).padStart(2, '0')}-grounding-verdict.png`) }).catch(() => {});
    await snap('grounding');
    if (!g.quotes.length) return;
    const [qPath, qLine] = [g.quotes[0].replace(/:\d+$/, ''), Number(/:(\d+)$/.exec(g.quotes[0])[1])];
    const m = mark();
    const link = msg.locator('a.quote').first();
    await link.click();
    let opened = await event('quote-opened', { after: m, timeout: 8000 }).catch(() => null);
    if (!opened) {
      console.log(`     (no quote-opened after a mouse click on ${await link.evaluate((e) => e.outerHTML.slice(0, 120))}; retrying with a DOM click)`);
      await link.evaluate((e) => e.click());
      opened = await event('quote-opened', { after: m, timeout: 15000 });
    }
    const want = path.join(WS, qPath);
    if (opened.activeFile !== want || opened.activeLine !== qLine) throw new Error(`opened ${opened.activeFile}:${opened.activeLine}, want ${want}:${qLine}`);
    await page.locator('.statusbar-item', { hasText: `Ln ${qLine},` }).first().waitFor({ timeout: 10000 });
    await snap('quote-opened');
  });

  await step('copy answer puts it on the clipboard', async () => {
    const view = chat();
    await view.locator('.msg.assistant').last().locator('button.copy').click();
    await view.locator('.msg.assistant').last().locator('button.copy', { hasText: 'Copied' }).waitFor({ timeout: 5000 });
  }, { critical: false });

  await step('clicking a citation opens the cited file at the cited line', async () => {
    const view = chat();
    const c = askDone.citations[0];
    const m = mark();
    await view.locator('.msg.assistant').last().locator('a.cite').first().click();
    const opened = await event('citation-opened', { after: m, timeout: 15000 });
    const want = path.join(WS, c.path);
    if (opened.activeFile !== want || opened.activeLine !== c.startLine) {
      throw new Error(`opened ${opened.activeFile}:${opened.activeLine}, want ${want}:${c.startLine}`);
    }
    await page.locator('.tabs-container .tab.active', { hasText: path.basename(c.path) }).waitFor({ timeout: 10000 });
    // the status bar's cursor position shows the line too
    await page.locator('.statusbar-item', { hasText: `Ln ${c.startLine},` }).first().waitFor({ timeout: 10000 });
    await snap('citation-opened');
  });

  await step('editing and saving a file: the watcher re-memorizes it', async () => {
    await openFile(TARGET);
    const m = mark();
    await page.locator('.editor-instance .monaco-editor .view-lines').first().click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type('\n- The e2e marker value is 4242.\n');
    await page.keyboard.press('Control+S');
    const done = await event('memorize-done', { after: m, where: (e) => e.trigger === 'watch' && e.paths?.includes(TARGET), timeout: 60000 });
    if (done.memorized !== 1) throw new Error(`expected 1 memorized, got ${JSON.stringify(done)}`);
    const batches = events().slice(m).filter((e) => e.event === 'memorize-done' && e.trigger === 'watch' && e.paths?.includes(TARGET));
    console.log(`     re-memorized in ${done.elapsedMs} ms (${batches.length} batch(es) for the save: debounced + coalesced)`);
    await snap('watcher-save');
  });

  await step('a file created outside the editor is memorized by the watcher; deleting it forgets it', async () => {
    const rel = 'notes/e2e-created.md';
    const m = mark();
    fs.writeFileSync(path.join(WS, rel), '# e2e\n\nThe zorblat service listens on port 7123.\n');
    await event('memorize-done', { after: m, where: (e) => e.trigger === 'watch' && e.paths?.includes(rel) && e.memorized === 1, timeout: 60000 });
    const m2 = mark();
    fs.rmSync(path.join(WS, rel));
    const f = await event('forget', { after: m2, where: (e) => e.path === rel, timeout: 60000 });
    if (!(f.removed >= 1)) throw new Error(`forget removed ${f.removed}`);
  }, { critical: false });

  await step('secrets are never memorized (.env is skipped by the engine rules)', async () => {
    const m = mark();
    fs.writeFileSync(path.join(WS, '.env'), 'API_KEY=do-not-memorize\n');
    fs.writeFileSync(path.join(WS, 'notes', 'e2e-after-secret.md'), 'A note written after the secret.\n');
    await event('memorize-done', { after: m, where: (e) => e.trigger === 'watch' && e.paths?.includes('notes/e2e-after-secret.md'), timeout: 60000 });
    const touched = events().slice(m).filter((e) => e.event === 'memorize-start' && e.paths?.includes('.env'));
    if (touched.length) throw new Error('.env reached the engine');
  }, { critical: false });

  await step('engine crash: the view shows "restarting", the engine comes back, and answers again', async () => {
    const ready = events().filter((e) => e.event === 'engine-ready').pop();
    const m = mark();
    const pid = events().filter((e) => e.event === 'engine-ready').pop()?.pid;
    process.kill(pid, 'SIGKILL');
    await event('engine-state', { after: m, where: (e) => e.state === 'restarting', timeout: 15000 });
    await chat().locator('#banner', { hasText: 'restarting' }).waitFor({ timeout: 5000 }).then(() => snap('engine-restarting'), () => {});
    await event('engine-state', { after: m, where: (e) => e.state === 'ready', timeout: 60000 });
    await showChat();
    const view = chat();
    const m2 = mark();
    await view.locator('#input').fill('Where does kafezeis store its data?');
    await view.locator('#send').click();
    await event('ask-done', { after: m2, timeout: 120000 });
    void ready;
  }, { critical: false });

  await step('chat history survives a window reload (workspaceState)', async () => {
    const before = events().filter((e) => e.event === 'ask-done').length;
    await page.reload();
    await page.locator('.monaco-workbench').waitFor({ timeout: 90000 });
    await showChat();
    const n = await waitFor(async () => (await chat().locator('.msg.assistant').count()) || 0, 30000, 'restored messages');
    if (n < before) throw new Error(`restored ${n} answers, had ${before}`);
    await chat().locator('#banner', { hasText: 'Starting' }).waitFor({ state: 'hidden', timeout: 60000 }).catch(() => {});
    await snap('history-restored');
  }, { critical: false });

  await step(`bulk "Memorize Workspace" over ${GEN_FILES} generated files (cancellable progress); event-loop lag`, async () => {
    const m = mark();
    await palette('CMT Memory: Memorize Workspace');
    await page.locator('.notification-toast', { hasText: 'Memorizing the workspace' }).first().waitFor({ timeout: 30000 })
      .then(() => sleep(1500)).then(() => snap('bulk-progress'), () => {});
    await event('memorize-start', { after: m, where: (e) => e.trigger === 'command', timeout: 30000 });
    const done = await event('memorize-done', { after: m, where: (e) => e.trigger === 'command', timeout: 420000 });
    const s = done.lag;
    console.log(`     ${done.memorized} memorized, ${done.unchanged} unchanged, ${done.skipped} skipped, ${done.failed} failed, ${done.chunks} chunks in ${(done.elapsedMs / 1000).toFixed(1)} s`);
    console.log(`     extension-host event-loop lag while memorizing: p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms, max ${s.maxMs} ms (${s.samples} samples every ${s.resolutionMs} ms)`);
    fs.writeFileSync(path.join(OUT, 'lag.json'), JSON.stringify({ files: GEN_FILES, ...done }, null, 1));
    if (done.memorized < GEN_FILES) throw new Error(`only ${done.memorized} memorized`);
    await snap('bulk-done');
  }, { critical: false });

  await step(`a question about a real project (${REAL_DIR}/, memorized with the workspace) gets the right answer, found in source or not sure with the line quoted`, async () => {
    if (!fs.existsSync(path.join(WS, REAL_DIR))) throw new Error(`${REAL_DIR}/ is not in the workspace (scripts/e2e.sh copies it from .cache/real-repos/ws; python3 benchmarks/real/fetch.py ${REAL_DIR})`);
    // On real projects the reader is right far more often than it is sure (docs/RESULTS.md): the
    // verdict may be "not sure", and then the line holding the answer must be quoted.
    const done = await askInSidebar(REAL_QUESTION, REAL_GOLD, { mustBeFound: false });
    if (!done.citations.some((c) => c.path.startsWith(`${REAL_DIR}/`))) throw new Error(`no citation inside ${REAL_DIR}/`);
    await snap('real-project-answer');
  }, { critical: false });
} catch {
  /* a critical step failed: the rest depends on it */
} finally {
  await close();
}
console.log(`screenshots: ${OUT}`);
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
