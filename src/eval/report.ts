// The streaming-QA evaluation's report: markdown (a header, then each section's part in run order)
// and the files written (JSON, markdown, the sections' SVG charts).
import { reportHeader, writeReport } from '../measure/report';
import { EVAL_SECTIONS } from './sections';
import type { EvalReport } from './types';

export function evalMarkdown(r: EvalReport): string {
  const out: string[] = [];
  out.push(`# CMT eval — pack \`${r.pack.name}\` (${r.pack.packId})\n`);
  out.push(reportHeader(r));
  for (const s of EVAL_SECTIONS) {
    const md = s.markdown?.(r);
    if (md) out.push(md);
  }
  return out.join('\n');
}

export async function writeEval(r: EvalReport, outDir: string, tag: string): Promise<void> {
  const charts: Record<string, string> = {};
  for (const s of EVAL_SECTIONS) Object.assign(charts, s.charts?.(r, tag));
  await writeReport(r, outDir, tag, charts, evalMarkdown);
}
