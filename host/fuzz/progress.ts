// The progress line on stderr: redrawn in place on a terminal, a line every few seconds otherwise.

export interface ProgressState {
  ops: number;
  violations: number;
  /** "paths 143/200" (debug build coverage) or "classes 14/15" (the generator's size classes). */
  reach: string;
  elapsedMs: number;
}

export class Progress {
  readonly #tty: boolean;
  #last = 0;
  #drawn = false;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly quiet: boolean,
  ) {
    this.#tty = out.isTTY === true;
  }

  static line(s: ProgressState): string {
    const rate = s.elapsedMs > 0 ? (s.ops * 1000) / s.elapsedMs : 0;
    return `fuzz: ${fmtCount(s.ops)} ops, ${fmtCount(rate)} ops/s, ${s.reach}, ${s.violations} violation${s.violations === 1 ? "" : "s"}, ${(s.elapsedMs / 1000).toFixed(0)} s`;
  }

  /** Draws the line if it is due (`force`: now, the campaign's last one). */
  update(s: ProgressState, force = false): void {
    if (this.quiet) return;
    const now = Date.now();
    if (!force && now - this.#last < (this.#tty ? 250 : 5000)) return;
    this.#last = now;
    if (this.#tty) {
      this.out.write(`\r\x1b[K${Progress.line(s)}`);
      this.#drawn = true;
    } else {
      this.out.write(`${Progress.line(s)}\n`);
    }
  }

  /** Ends the redrawn line (before other output). */
  done(): void {
    if (this.#drawn) this.out.write("\n");
    this.#drawn = false;
  }
}

export function fmtCount(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e7 ? 1 : 2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(0)}k`;
  return `${Math.round(n)}`;
}
