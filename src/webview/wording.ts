// The user-facing wording of the engine and view states, in one place: the chat view's banner
// (chat.ts), the editor's status bar (src/extension/extension.ts) and the controller's state details
// (src/extension/controller.ts) all take their sentences from here. Pure: no `vscode` and no node
// import (it is part of the webview's bundle).

export const WORDING = {
  /** In place of an output that is no answer (Grounding.noAnswer). */
  withheld: 'No answer: the model’s output was discarded.',
  noWorkspace: 'Open a folder to give CMT Memory something to memorize.',
  noWorkspaceTip: 'Open a folder to use CMT Memory',
  starting: 'Starting the engine…',
  defaultPackMissing: (packDir: string) =>
    `The default model pack is missing (${packDir}). Install the extension "CMT Memory: default model pack" (cmt-memory.cmt-memory-pack), or select a model pack folder.`,
  packSettingMissing: (packDir: string) => `No model pack at ${packDir} (setting cmtMemory.packPath).`,
  noPack: (detail: string) => `No model pack. ${detail}`,
  restarting: (detail: string) => `The engine stopped unexpectedly and is restarting. ${detail}`,
  restartingTip: (detail: string) => `Engine restarting: ${detail}`,
  crashed: (detail: string) => `The engine keeps crashing. ${detail}`,
  startFailed: (detail: string) => `The engine could not start. ${detail}`,
  memorizing: (done: number, total: number) => `Memorizing… ${done}/${total} files`,
  nothingMemorized: 'Nothing memorized yet. Memorize your workspace (or a file: right-click it → CMT Memory: Memorize File), then ask.',
  untrusted: 'This workspace is not trusted: files are not memorized automatically. Memorize commands still work.',
  memories: (n: number) => `${n} memories`,
  notWatching: 'not watching',
  queued: (n: number) => `${n} queued`,
  /** The editor's fix, appended to the engine's message for these error codes. */
  errorFixes: {
    DEVICE_UNAVAILABLE: ' Choose another device in the cmtMemory.device setting (auto or cpu).',
  } as Partial<Record<string, string>>,
  /** The editor's fix for skip reasons the engine words without one (core/files.ts SKIP_REASONS). */
  skipReasons: {
    excluded: 'excluded (default, cmtMemory.exclude or files.exclude rules)',
    secret: 'may hold secrets (.env, keys, credentials); force with the cmtMemory.include setting',
  },
} as const;
