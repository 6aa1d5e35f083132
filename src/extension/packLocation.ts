// Where the default model pack is. It ships in its own extension (cmt-memory.cmt-memory-pack, named in
// package.json's extensionDependencies): the pack and the editor extension together are larger than the
// extension stores accept. A development checkout (npm start) has it in packs/default instead.
import * as fs from 'node:fs';
import * as path from 'node:path';

export const PACK_EXTENSION_ID = 'cmt-memory.cmt-memory-pack';

export function packExists(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'pack.json'));
}

/**
 * The default pack: the pack extension's `pack/` when that extension is installed and complete, else this
 * extension's own `packs/default` (a development checkout). When neither has a pack, the place a user
 * should fix: the pack extension's folder if it is installed, else `packs/default`.
 */
export function defaultPackDir(extensionPath: string, packExtensionPath: string | undefined): string {
  const candidates = [
    ...(packExtensionPath ? [path.join(packExtensionPath, 'pack')] : []),
    path.join(extensionPath, 'packs', 'default'),
  ];
  return candidates.find(packExists) ?? candidates[0];
}
