// The classic first look at malloc: malloc(8), malloc(4083), malloc(3), malloc(136168),
// malloc(1048576) on a fresh process, showing after each call where the block is, its size field,
// how far the break moved, and malloc_stats(). The text is the same as the C program
// oracle/replay/walkthrough.c prints on the real glibc (fixture: test/fixtures/alloc/walkthrough.txt).

export const WALKTHROUGH_SIZES: readonly number[] = [8, 4083, 3, 136168, 1048576];

export interface WalkthroughTarget {
  malloc(size: number): number;
  sbrk(increment: number): number;
  read(addr: number, length: number): Uint8Array;
  malloc_stats(): string;
}

export function runWalkthrough(proc: WalkthroughTarget, sizes: readonly number[] = WALKTHROUGH_SIZES): string {
  const brk0 = proc.sbrk(0) >>> 0;
  const out: string[] = ["# walkthrough glibc=2.36 sizeof_size_t=4"];
  for (const size of sizes) {
    const p = proc.malloc(size) >>> 0;
    let where: string;
    if (p === 0) {
      where = "NULL";
    } else {
      const b = proc.read(p - 4, 4);
      const field = (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
      where = `${field & 2 ? "mmapped" : `brk0+${p - brk0}`} size_field=0x${field.toString(16)}`;
    }
    out.push(`malloc(${size}) = ${where} brk_delta=${(proc.sbrk(0) >>> 0) - brk0}`);
    const stats = proc.malloc_stats();
    const body = stats.endsWith("\n") ? stats.slice(0, -1) : stats;
    if (body !== "") for (const line of body.split("\n")) out.push(`| ${line}`);
  }
  return out.join("\n") + "\n";
}
