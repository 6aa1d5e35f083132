// The chat webview's HTML (pure: no `vscode` import, so it is unit-tested). Strict CSP: nothing is
// allowed by default; styles, images and fonts only from the extension (cspSource); scripts only
// with this render's nonce. No remote resources, no inline script, no eval.
import * as crypto from 'node:crypto';

export interface ChatHtmlInput {
  /** webview.cspSource */
  cspSource: string;
  /** a fresh nonce per render (see makeNonce) */
  nonce: string;
  /** webview URIs (asWebviewUri) of the assets */
  scriptUri: string;
  styleUri: string;
  codiconsUri?: string;
}

/** 128 random bits, base64 (24 chars). */
export function makeNonce(): string {
  return crypto.randomBytes(16).toString('base64');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function chatCsp(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `style-src ${cspSource}`,
    `img-src ${cspSource} data:`,
    `font-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
}

/** A button's icon + visible label (the label keeps the accessible name). */
const icon = (name: string) => `<span class="codicon codicon-${name}" aria-hidden="true"></span>`;

export function renderChatHtml(i: ChatHtmlInput): string {
  const csp = chatCsp(i.cspSource, i.nonce);
  const codicons = i.codiconsUri ? `\n<link rel="stylesheet" href="${esc(i.codiconsUri)}">` : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${esc(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">${codicons}
<link rel="stylesheet" href="${esc(i.styleUri)}">
<title>CMT Memory</title>
</head>
<body>
<div id="banner" role="status" aria-live="polite"></div>
<main id="log" role="log" aria-live="polite" aria-label="Conversation" tabindex="0"></main>
<form id="composer" aria-label="Ask your memory">
  <label for="input" class="sr-only">Question</label>
  <textarea id="input" rows="3" maxlength="4000" placeholder="Ask about your code and notes… (Enter to send, Shift+Enter for a new line)"></textarea>
  <div class="row">
    <span id="hint" class="muted"></span>
    <button type="button" id="newChat" class="secondary" title="Start a new chat">${icon('add')}<span class="label">New chat</span></button>
    <button type="button" id="stop" class="secondary" title="Stop the answer" hidden>${icon('debug-stop')}<span class="label">Stop</span></button>
    <button type="submit" id="send" title="Send (Enter)">${icon('send')}<span class="label">Send</span></button>
  </div>
</form>
<script nonce="${esc(i.nonce)}" src="${esc(i.scriptUri)}"></script>
</body>
</html>`;
}
