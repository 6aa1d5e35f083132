// One helper for "run these async jobs one after another": the engine's writes, the bank's writes
// and the editor's memorize requests each go through a Serial so that two never interleave.

/** Runs jobs one at a time, in call order; a failed job does not stop the ones after it. */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `fn` once every job queued before it has settled; resolves or rejects as `fn` does. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}
