// The bench report: markdown (a header, then each section's part in run order) and the files
// written (JSON, markdown, the sections' SVG charts).
import { reportHeader, writeReport } from '../measure/report';
import { BENCH_SECTIONS } from './sections';
import type { BenchReport, BenchSectionName } from './types';

/** Charts of these sections come first in `files`, in this order (as they always have: retrieval first); then the others', in run order. */
const CHARTS_FIRST: BenchSectionName[] = ['retrieval', 'answer', 'decode'];
const chartRank = (name: BenchSectionName) => (CHARTS_FIRST.includes(name) ? CHARTS_FIRST.indexOf(name) : CHARTS_FIRST.length);

export function benchMarkdown(r: BenchReport): string {
  const out: string[] = [];
  out.push(`# CMT bench — pack \`${r.pack.name}\` (${r.pack.packId})\n`);
  out.push(reportHeader(r));
  for (const s of BENCH_SECTIONS) {
    const md = s.markdown?.(r);
    if (md) out.push(md);
  }
  return out.join('\n') + '\n';
}

export async function writeBench(r: BenchReport, outDir: string, tag: string): Promise<void> {
  const charts: Record<string, string> = {};
  for (const s of [...BENCH_SECTIONS].sort((a, b) => chartRank(a.name) - chartRank(b.name))) Object.assign(charts, s.charts?.(r, tag));
  await writeReport(r, outDir, tag, charts, benchMarkdown);
}
