// What the chat webview sends, checked before the extension acts on it (pure: no `vscode` import).
// The webview is treated as untrusted input: unknown types, wrong field types, oversize strings and
// extra fields are rejected. The messages themselves are in src/webview/protocol.ts.

import { MAX_QUESTION_CHARS, WEBVIEW_COMMANDS, type FromWebview, type WebviewCommand } from '../webview/protocol';

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

function onlyKeys(o: Record<string, unknown>, keys: string[]): boolean {
  return Object.keys(o).every((k) => keys.includes(k));
}

/** Returns the message if it is well-formed, else undefined. */
export function parseFromWebview(raw: unknown): FromWebview | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const m = raw as Record<string, unknown>;
  switch (m.type) {
    case 'ready':
    case 'stop':
    case 'newChat':
    case 'retry':
      return onlyKeys(m, ['type']) ? { type: m.type } : undefined;
    case 'ask': {
      if (!onlyKeys(m, ['type', 'text']) || typeof m.text !== 'string') return undefined;
      const text = m.text.trim();
      if (text.length === 0 || text.length > MAX_QUESTION_CHARS) return undefined;
      return { type: 'ask', text };
    }
    case 'openCitation':
    case 'openQuote':
      if (!onlyKeys(m, ['type', 'messageId', 'index'])) return undefined;
      if (typeof m.messageId !== 'string' || !ID_RE.test(m.messageId)) return undefined;
      if (typeof m.index !== 'number' || !Number.isInteger(m.index) || m.index < 0 || m.index > 1000) return undefined;
      return { type: m.type, messageId: m.messageId, index: m.index };
    case 'copy':
      if (!onlyKeys(m, ['type', 'messageId']) || typeof m.messageId !== 'string' || !ID_RE.test(m.messageId)) return undefined;
      return { type: 'copy', messageId: m.messageId };
    case 'command':
      if (!onlyKeys(m, ['type', 'command'])) return undefined;
      if (typeof m.command !== 'string' || !(WEBVIEW_COMMANDS as readonly string[]).includes(m.command)) return undefined;
      return { type: 'command', command: m.command as WebviewCommand };
    default:
      return undefined;
  }
}
