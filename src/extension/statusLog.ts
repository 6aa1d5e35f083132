// Machine-readable record of what the extension does: JSON lines appended to the file named by the
// CMT_STATUS_FILE environment variable (set by the e2e driver on the code-server process; unset in
// normal use = nothing is written). Also measures the extension host's event-loop delay with
// perf_hooks.monitorEventLoopDelay, so a test can show that memorizing never blocks the host.
import * as fs from 'node:fs';
import { monitorEventLoopDelay, IntervalHistogram } from 'node:perf_hooks';

export class StatusLog {
  private readonly file: string | undefined;
  constructor() {
    this.file = process.env.CMT_STATUS_FILE || undefined;
  }

  record(event: string, data: Record<string, unknown> = {}): void {
    const line = JSON.stringify({ t: new Date().toISOString(), event, ...data });
    if (this.file) {
      // async append: never block the extension host on disk I/O
      fs.appendFile(this.file, line + '\n', () => undefined);
    }
  }
}

export interface LagStats {
  /** Sampling interval: a delay histogram value of `resolutionMs` means no lag at all. */
  resolutionMs: number;
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

/**
 * Event-loop delay over a span of work (e.g. one bulk memorize). The histogram holds the interval
 * between timer ticks (sampling every `resolutionMs`); the excess over `resolutionMs` is the lag.
 * p50/p99/max/mean below are that excess (the time the loop was blocked beyond its schedule).
 */
export class LagMeter {
  private h: IntervalHistogram;
  constructor(private readonly resolutionMs = 5) {
    this.h = monitorEventLoopDelay({ resolution: resolutionMs });
    this.h.enable();
  }
  stop(): LagStats {
    this.h.disable();
    const ms = (ns: number) => Math.max(0, Math.round((ns / 1e6 - this.resolutionMs) * 100) / 100);
    const n = this.h.count;
    return {
      resolutionMs: this.resolutionMs,
      samples: n,
      p50Ms: n ? ms(this.h.percentile(50)) : 0,
      p99Ms: n ? ms(this.h.percentile(99)) : 0,
      maxMs: n ? ms(this.h.max) : 0,
      meanMs: n ? ms(this.h.mean) : 0,
    };
  }
}
