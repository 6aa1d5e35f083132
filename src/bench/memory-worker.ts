// Engine process for the memory benchmark (forked by bench/memory.ts): opens the engine and
// memorizes a folder, answers questions, or both, then reports its peak resident memory.
// argv: <packDir> <workspaceRoot> <bankDir> <device> <memorize|ask|both> <questions JSON>
import { Engine } from '../core/engine';
import type { Device } from '../core/types';
import { mib } from '../measure/stats';

const peakMiB = () => mib(process.resourceUsage().maxRSS * 1024);

async function main(): Promise<void> {
  const [packDir, root, bankDir, device, mode, questionsJson] = process.argv.slice(2);
  const questions = JSON.parse(questionsJson) as string[];
  const engine = await Engine.open({ packDir, bankUri: bankDir, device: (device || 'cpu') as Device, verifyHashes: false });
  const afterOpenMiB = peakMiB();
  try {
    let memorized = 0;
    let chunks = 0;
    if (mode === 'memorize' || mode === 'both') {
      const s = await engine.memorize(['.'], { root });
      memorized = s.memorized;
      chunks = s.chunks;
    }
    const afterMemorizeMiB = peakMiB();
    const answers: string[] = [];
    if (mode === 'ask' || mode === 'both') {
      for (const q of questions) answers.push((await engine.ask(q)).answer);
    }
    const cpu = process.cpuUsage();
    process.send?.({ type: 'done', mode, afterOpenMiB, afterMemorizeMiB, peakMiB: peakMiB(), cpuS: Math.round((cpu.user + cpu.system) / 1e5) / 10, memorized, chunks, answers });
  } finally {
    await engine.close();
  }
}

main().catch((e) => {
  process.send?.({ type: 'error', message: String((e as Error).stack ?? e) });
  process.exitCode = 1;
});
