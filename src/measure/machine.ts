// The machine a measurement ran on, recorded in every eval and bench report; disk use of a folder;
// CPU time: this process's, the whole machine's, and what other processes used while timing.
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { now, round } from './stats';

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
    ortVersion = (require('onnxruntime-node/package.json') as { version: string }).version;
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

/** Busy CPU seconds of the whole machine since boot (Linux), or null. */
export function machineBusySeconds(): number | null {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal ...
    return (f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] ?? 0)) / 100; // USER_HZ = 100 on Linux
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) this process has used. */
export const ownCpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/**
 * Starts measuring the CPU other processes use (a shared machine skews timings): `others()` is the
 * mean number of cores they used since the start (Linux /proc/stat minus this process's own CPU
 * time, over wall time; null elsewhere).
 */
export function otherProcessesMeter(): { others(): number | null } {
  const busy0 = machineBusySeconds();
  const own0 = ownCpuSeconds();
  const wall0 = now();
  return {
    others() {
      const busy1 = machineBusySeconds();
      return busy0 === null || busy1 === null ? null : Math.max(0, (busy1 - busy0 - (ownCpuSeconds() - own0)) / ((now() - wall0) / 1000));
    },
  };
}

/** What the reports record of the machine's load: other processes' cores (rounded), the 1-minute load average. */
export function machineLoadOf(others: number | null): { otherProcessesCores: number | null; loadAverage1m: number } {
  return { otherProcessesCores: others === null ? null : round(others, 2), loadAverage1m: round(os.loadavg()[0], 2) };
}
