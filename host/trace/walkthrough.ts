// The classic first look at malloc: malloc(8), malloc(4083), malloc(3), malloc(136168),
// malloc(1048576) on a fresh process, showing after each call where the block is, its size field,
// how far the break moved, and malloc_stats(). The text is the same as the C program
// oracle/replay/walkthrough.c prints on the real glibc (fixtures: test/fixtures/alloc/walkthrough.txt
// for i386, test/fixtures/alloc64/walkthrough64.txt for x86_64).

export const WALKTHROUGH_SIZES: readonly number[] = [8, 4083, 3, 136168, 1048576];

export interface WalkthroughTarget {
  malloc(size: number): number;
  sbrk(increment: number): number;
  read(addr: number, length: number): Uint8Array;
  malloc_stats(): string;
  /** The process's ABI (default "i386"): an x86_64 size field has 8 bytes. */
  readonly arch?: "i386" | "x86_64";
}

/** The size field of the chunk of the block at `p` (flags included), read as the process reads it. */
export function sizeFieldAt(proc: Pick<WalkthroughTarget, "read" | "arch">, p: number): number {
  const word = proc.arch === "x86_64" ? 8 : 4;
  return proc.read(p - word, word).reduceRight((acc, byte) => acc * 256 + byte, 0);
}

export function runWalkthrough(proc: WalkthroughTarget, sizes: readonly number[] = WALKTHROUGH_SIZES): string {
  const word = proc.arch === "x86_64" ? 8 : 4;
  // i386 results may be raw 32-bit patterns; x86_64 ones are addresses above 4 GiB already.
  const unsigned = (x: number) => (word === 8 ? x : x >>> 0);
  const brk0 = unsigned(proc.sbrk(0));
  const out: string[] = [`# walkthrough glibc=2.36 sizeof_size_t=${word}`];
  for (const size of sizes) {
    const p = unsigned(proc.malloc(size));
    let where: string;
    if (p === 0) {
      where = "NULL";
    } else {
      const field = sizeFieldAt(proc, p);
      where = `${field & 2 ? "mmapped" : `brk0+${p - brk0}`} size_field=0x${field.toString(16)}`;
    }
    out.push(`malloc(${size}) = ${where} brk_delta=${unsigned(proc.sbrk(0)) - brk0}`);
    const stats = proc.malloc_stats();
    const body = stats.endsWith("\n") ? stats.slice(0, -1) : stats;
    if (body !== "") for (const line of body.split("\n")) out.push(`| ${line}`);
  }
  return out.join("\n") + "\n";
}
