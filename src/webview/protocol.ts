// The chat view's protocol: the messages between its browser script (chat.ts) and the extension
// (src/extension/chatView.ts), both ways. Types and constants only, imported by both sides; the
// extension checks everything the webview sends (src/extension/webviewInput.ts): the webview is
// untrusted input.

import type { Citation, Grounding } from '../core/types';

export const MAX_QUESTION_CHARS = 4000;

// ----- webview -> extension

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
