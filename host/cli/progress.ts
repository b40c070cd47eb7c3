// A one-line progress report on standard error, redrawn at most ten times a second, only when
// standard error is a terminal: ops done, ops per second, and (when the input's size is known)
// how far through the file and an estimate of the time left.

export class Progress {
  readonly #start = performance.now();
  #last = 0;
  #shown = false;

  constructor(
    readonly label: string,
    /** Bytes of input read so far, and the input's size (undefined: unknown). */
    readonly position: () => { done: number; total: number | undefined },
    readonly enabled: boolean = process.stderr.isTTY === true,
  ) {}

  update(ops: number): void {
    if (!this.enabled) return;
    const now = performance.now();
    if (now - this.#last < 100) return;
    this.#last = now;
    const seconds = (now - this.#start) / 1000;
    const rate = seconds > 0 ? ops / seconds : 0;
    let line = `${this.label}  ${count(ops)} ops  ${count(rate)} ops/s`;
    const { done, total } = this.position();
    if (total !== undefined && total > 0) {
      const fraction = Math.min(1, done / total);
      const width = 24;
      const filled = Math.round(fraction * width);
      const eta = fraction > 0 ? (seconds / fraction) * (1 - fraction) : NaN;
      line = `${this.label}  [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%  ${count(ops)} ops  ${count(rate)} ops/s  ETA ${duration(eta)}`;
    }
    const columns = process.stderr.columns ?? 100;
    process.stderr.write(`\r${line.slice(0, columns - 1)}\x1b[K`);
    this.#shown = true;
  }

  /** Erases the line (before anything else is written to standard error). */
  clear(): void {
    if (this.#shown) process.stderr.write("\r\x1b[K");
    this.#shown = false;
  }
}

function count(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return `${Math.round(n)}`;
}

function duration(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 60) return `${Math.ceil(s)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(Math.ceil(s % 60)).padStart(2, "0")}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}
