// The messages between the chat webview and the extension, and the validation of everything the
// webview sends (pure: no `vscode` import). The webview is treated as untrusted input: unknown types,
// wrong field types, oversize strings and extra fields are rejected.

import type { Grounding } from '../core/protocol';
import type { Citation } from '../core/types';

export const MAX_QUESTION_CHARS = 4000;

export type FromWebview =
  | { type: 'ready' }
  | { type: 'ask'; text: string }
  | { type: 'stop' }
  | { type: 'newChat' }
  | { type: 'retry' }
  /** Opens citation `index` of assistant message `messageId` (looked up in the extension's own history). */
  | { type: 'openCitation'; messageId: string; index: number }
  /** Opens grounding quote `index` of assistant message `messageId` at its line (looked up likewise). */
  | { type: 'openQuote'; messageId: string; index: number }
  | { type: 'copy'; messageId: string }
  | { type: 'command'; command: WebviewCommand };

/** The only commands the webview may trigger (buttons in its empty/error states). */
export const WEBVIEW_COMMANDS = ['memorizeWorkspace', 'memorizeFile', 'selectPack', 'showStatus', 'resumeWatching'] as const;
export type WebviewCommand = (typeof WEBVIEW_COMMANDS)[number];

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

// ----- extension -> webview

export interface ChatMessage {
  id: string;
  role: 'user' | 'assistant';
  text: string;
  citations?: Citation[];
  /** assistant only: whether the answer is backed by the files (shown with its quote or the relevant lines) */
  grounding?: Grounding;
  /** assistant only */
  status?: 'streaming' | 'done' | 'stopped' | 'error';
  error?: string;
  ms?: number;
}

export type ViewPhase = 'noWorkspace' | 'noPack' | 'starting' | 'ready' | 'restarting' | 'crashed' | 'error';

export interface ViewState {
  phase: ViewPhase;
  detail?: string;
  packName?: string;
  provider?: string;
  memories?: number;
  files?: number;
  indexing?: { done: number; total: number } | null;
  queued?: number;
  trusted: boolean;
  watching: boolean;
  busy: boolean; // an answer is streaming
}

export type ToWebview =
  | { type: 'state'; state: ViewState }
  | { type: 'history'; messages: ChatMessage[] }
  | { type: 'message'; message: ChatMessage } // add or replace by id
  | { type: 'token'; id: string; text: string }
  | { type: 'copied'; id: string };
