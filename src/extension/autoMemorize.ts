// Workspace-trust gating of automatic memorizing (pure: no `vscode` import, so it is unit-tested).
// In an untrusted workspace the watcher neither listens nor runs queued work: nothing is memorized
// automatically. Explicit user commands (Memorize File / Folder / Workspace, Forget, Ask) stay
// allowed there by design: the user chose the files, and the engine still applies its file rules
// (.gitignore, secrets, excludes, size); the untrusted workspace's values of the restricted settings
// (packPath, bankLocation, device) are ignored by VS Code itself (package.json restrictedConfigurations).

export interface AutoMemorizeGate {
  trusted: boolean;
  /** the cmtMemory.watch setting */
  watchEnabled: boolean;
  /** the user paused watching */
  paused: boolean;
}

/** Why automatic memorizing is off, or undefined when it is on. Trust is checked first. */
export function autoMemorizeBlocker(g: AutoMemorizeGate): string | undefined {
  if (!g.trusted) return 'this workspace is not trusted';
  if (!g.watchEnabled) return 'the cmtMemory.watch setting is off';
  if (g.paused) return 'watching is paused';
  return undefined;
}

/** Whether queued file events may be memorized/forgotten now. */
export function shouldAutoMemorize(g: AutoMemorizeGate): boolean {
  return autoMemorizeBlocker(g) === undefined;
}

/**
 * Whether the watcher listens for file events at all. While paused it still listens (events are held in
 * the paused queue and run on resume); untrusted or watch off: it does not listen.
 */
export function shouldListen(g: Pick<AutoMemorizeGate, 'trusted' | 'watchEnabled'>): boolean {
  return g.trusted && g.watchEnabled;
}
