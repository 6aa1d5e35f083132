// Stages the model-pack extension (packs/extension/ + the built packs/default) in dist/pack-extension/,
// the folder `npm run package` turns into cmt-memory-pack.vsix and `npm start` / E2E_DEV load beside the
// working tree. The pack's files are hard links (copies where the file system has none): staging is instant.
//   node scripts/stage-pack-extension.mjs [PACK_DIR]   (default packs/default)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const packDir = path.resolve(root, process.argv[2] ?? 'packs/default');
const out = path.join(root, 'dist', 'pack-extension');

if (!fs.existsSync(path.join(packDir, 'pack.json'))) {
  console.error(`error: ${packDir} has no pack.json: build the pack first (bash scripts/setup.sh).`);
  process.exit(1);
}
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });

const mainManifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'packs', 'extension', 'package.json'), 'utf8'));
manifest.version = mainManifest.version; // released together; the editor extension names this one as its dependency
fs.writeFileSync(path.join(out, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
for (const f of ['README.md', 'LICENSE']) fs.copyFileSync(path.join(root, 'packs', 'extension', f), path.join(out, f));
fs.writeFileSync(path.join(out, '.vscodeignore'), '# everything staged here ships\n');

let files = 0;
const link = (from, to) => {
  for (const e of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, e.name), dst = path.join(to, e.name);
    if (e.isDirectory()) { fs.mkdirSync(dst); link(src, dst); continue; }
    try { fs.linkSync(src, dst); } catch { fs.copyFileSync(src, dst); }
    files++;
  }
};
fs.mkdirSync(path.join(out, 'pack'));
link(packDir, path.join(out, 'pack'));
console.log(`staged ${path.relative(root, out)} (${manifest.publisher}.${manifest.name} ${manifest.version}, ${files} pack files)`);
