// Shared e2e helpers: Debian's Chromium via playwright-core, code-server URLs, the extension's JSONL status file.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const CS_URL = process.env.CS_URL ?? 'http://127.0.0.1:18765';
export const EXT_DIR = process.env.EXT_DIR ?? path.resolve(new URL('..', import.meta.url).pathname);
export const WS = process.env.WS;
export const OUT = process.env.OUT_DIR ?? path.join(EXT_DIR, 'artifacts', 'e2e');
export const STATUS = process.env.CMT_STATUS_FILE;
export const DEV = process.env.E2E_DEV === '1'; // load the working tree instead of the installed .vsix
export const EXT_ID = 'cmt-memory.cmt-memory';
fs.mkdirSync(OUT, { recursive: true });

const remote = (p) => `vscode-remote://${new URL(CS_URL).host}${p}`;
export function workbenchUrl() {
  let url = `${CS_URL}/?folder=${encodeURIComponent(WS)}`;
  if (DEV) url += `&payload=${encodeURIComponent(JSON.stringify([['extensionDevelopmentPath', remote(EXT_DIR)]]))}`;
  return url;
}

export async function launch() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'cmt-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1400, height: 900 },
    permissions: ['clipboard-read', 'clipboard-write'],
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const close = async () => { await ctx.close().catch(() => {}); fs.rmSync(profile, { recursive: true, force: true }); };
  return { ctx, page: ctx.pages()[0] ?? (await ctx.newPage()), close };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export async function waitFor(fn, timeout, what) {
  const end = Date.now() + timeout;
  while (Date.now() < end) {
    const v = await fn();
    if (v) return v;
    await sleep(200);
  }
  throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
}

export function events() {
  if (!STATUS || !fs.existsSync(STATUS)) return [];
  return fs.readFileSync(STATUS, 'utf8').split('\n').filter(Boolean).flatMap((l) => {
    try { return [JSON.parse(l)]; } catch { return []; }
  });
}
/** Index into the event list: only events after `mark()` count. */
export const mark = () => events().length;
export function event(name, { after = 0, where = () => true, timeout = 30000 } = {}) {
  return waitFor(() => events().slice(after).find((e) => e.event === name && where(e)), timeout, `status event "${name}"`);
}
