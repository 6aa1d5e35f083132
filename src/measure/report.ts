// What the eval and bench reports share: the header lines of the markdown, and writing the files
// (JSON, markdown, SVG charts) into the output folder.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { MachineInfo } from './machine';

/** The report fields every measurement has. */
export interface ReportBase {
  command: string;
  date: string;
  machine: MachineInfo;
  /** The files written, relative to the output folder's parent. */
  files: string[];
}

/** "Command: … Date: … Machine: …" under a report's title. */
export function reportHeader(r: Pick<ReportBase, 'command' | 'date' | 'machine'>): string {
  const m = r.machine;
  return `Command: \`${r.command}\`  \nDate: ${r.date}  \nMachine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.gpu}; node ${m.node}, onnxruntime-node ${m.onnxruntime}\n`;
}

/**
 * Writes `<tag>.json`, `<tag>.md` and the charts (file name -> SVG) into `outDir`; `r.files` lists
 * them (JSON, markdown, charts) before the markdown and the JSON are made.
 */
export async function writeReport<R extends ReportBase>(r: R, outDir: string, tag: string, charts: Record<string, string>, markdown: (r: R) => string): Promise<void> {
  await fsp.mkdir(outDir, { recursive: true });
  const files: Record<string, string> = { ...charts };
  r.files = [`${tag}.json`, `${tag}.md`, ...Object.keys(charts)].map((f) => path.join(path.basename(outDir), f));
  files[`${tag}.md`] = markdown(r);
  files[`${tag}.json`] = JSON.stringify(r, null, 1) + '\n';
  for (const [f, text] of Object.entries(files)) await fsp.writeFile(path.join(outDir, f), text);
}
