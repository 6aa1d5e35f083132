// The machine a measurement ran on, recorded in every eval and bench report; and disk use of a folder.
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { round } from './metrics';

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  platform: string;
  node: string;
  onnxruntime: string;
  gpu: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  let ortVersion = '';
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded lazily, on purpose
    ortVersion = require('onnxruntime-node/package.json').version;
  } catch {
    ortVersion = '?';
  }
  return {
    cpu: cpus[0]?.model?.trim() ?? 'unknown',
    cores: typeof os.availableParallelism === 'function' ? os.availableParallelism() : cpus.length,
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    onnxruntime: ortVersion,
    gpu: 'none (CPU execution provider)',
  };
}

/** Bytes of the regular files under `p` (0 when it does not exist). */
export async function dirSize(p: string): Promise<number> {
  let total = 0;
  for (const e of await fsp.readdir(p, { withFileTypes: true }).catch(() => [])) {
    const full = path.join(p, e.name);
    if (e.isDirectory()) total += await dirSize(full);
    else if (e.isFile()) total += (await fsp.stat(full)).size;
  }
  return total;
}
