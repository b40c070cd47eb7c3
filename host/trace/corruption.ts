// Heap corruption cases as data: steps on named blocks (allocate, free, overwrite a header or a
// link at an offset from a block), and what glibc 2.36 on i386 does with them. The cases and the
// real outcomes live in test/fixtures/alloc/corruption-cases.json, produced by the C program
// oracle/replay/corrupt.c from oracle/replay/corruption.cases; this module runs the same steps on
// a process through the public API.
//
// Steps (offsets are from the block's address, the pointer malloc returned):
//   ["m", NAME, SIZE]                      NAME = malloc(SIZE)
//   ["c", NAME, NMEMB, SIZE]               NAME = calloc(NMEMB, SIZE)
//   ["a", NAME, ALIGN, SIZE]               NAME = memalign(ALIGN, SIZE)
//   ["r", NAME, OLD, OFF, SIZE]            NAME = realloc(OLD + OFF, SIZE)
//   ["f", NAME, OFF]                       free(NAME + OFF)
//   ["w32", NAME, OFF, VALUE]              32-bit little-endian VALUE at NAME + OFF
//   ["wptr", NAME, OFF, TARGET, TOFF]      the address TARGET + TOFF at NAME + OFF
//   ["wsafe", NAME, OFF, VALUE]            VALUE ^ ((NAME + OFF) >> 12): a safe-linked link
//   ["wsafeptr", NAME, OFF, TARGET, TOFF]  the address TARGET + TOFF, safe-linked
//   ["copy", NAME, OFF, SRC, SOFF, LEN]    LEN bytes from SRC + SOFF to NAME + OFF
//   ["mmany", NAME, COUNT, SIZE, GUARD]    NAME0 .. NAME<COUNT-1> = malloc(SIZE), each followed by
//                                          an unnamed malloc(GUARD) when GUARD > 0
//   ["fmany", NAME, COUNT]                 free(NAME0) .. free(NAME<COUNT-1>)
//   ["sbrk", INCREMENT]   ["mallinfo2"]   ["malloc_stats"]   ["malloc_info"]

export type CorruptionStep = (string | number)[];

export interface CorruptionOutcome {
  /** "SIGABRT" when glibc aborted, "SIGSEGV" when a load faulted; null when the steps ran to the end. */
  signal: string | null;
  /** Index of the step that ended the process. */
  step: number | null;
  /** glibc's message (the line it printed on stderr). */
  message: string;
  exitStatus?: number;
}

export interface CorruptionCase {
  name: string;
  about: string;
  steps: CorruptionStep[];
  outcome: CorruptionOutcome;
}

export interface CorruptionTarget {
  malloc(size: number): number;
  calloc(nmemb: number, size: number): number;
  memalign(alignment: number, size: number): number;
  realloc(ptr: number, size: number): number;
  free(ptr: number): void;
  read(addr: number, length: number): Uint8Array;
  write(addr: number, bytes: ArrayLike<number>): void;
  sbrk(increment: number): number;
  mallinfo2(): unknown;
  malloc_stats(): string;
  malloc_info(): string;
}

export interface CorruptionRun {
  /** Index of the step that threw, or null if every step returned. */
  step: number | null;
  error: unknown;
  /** The blocks' addresses by name. */
  blocks: Map<string, number>;
}

function u32le(value: number): number[] {
  const v = value >>> 0;
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
}

/** Runs the steps in order; stops at the first step that throws and reports it. */
export function runCorruptionSteps(proc: CorruptionTarget, steps: readonly CorruptionStep[]): CorruptionRun {
  const blocks = new Map<string, number>();
  const addr = (name: unknown, off: unknown): number => {
    const base = blocks.get(String(name));
    if (base === undefined) throw new TypeError(`corruption step: unknown block ${String(name)}`);
    return (base + Number(off)) >>> 0;
  };
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i];
    const n = (k: number) => Number(s[k]);
    try {
      switch (s[0]) {
        case "m": blocks.set(String(s[1]), proc.malloc(n(2)) >>> 0); break;
        case "c": blocks.set(String(s[1]), proc.calloc(n(2), n(3)) >>> 0); break;
        case "a": blocks.set(String(s[1]), proc.memalign(n(2), n(3)) >>> 0); break;
        case "r": blocks.set(String(s[1]), proc.realloc(addr(s[2], s[3]), n(4)) >>> 0); break;
        case "f": proc.free(addr(s[1], s[2])); break;
        case "w32": proc.write(addr(s[1], s[2]), u32le(n(3))); break;
        case "wptr": proc.write(addr(s[1], s[2]), u32le(addr(s[3], s[4]))); break;
        case "wsafe": {
          const where = addr(s[1], s[2]);
          proc.write(where, u32le((n(3) ^ (where >>> 12)) >>> 0));
          break;
        }
        case "wsafeptr": {
          const where = addr(s[1], s[2]);
          proc.write(where, u32le((addr(s[3], s[4]) ^ (where >>> 12)) >>> 0));
          break;
        }
        case "copy": proc.write(addr(s[1], s[2]), proc.read(addr(s[3], s[4]), n(5))); break;
        case "mmany":
          for (let k = 0; k < n(2); k++) {
            blocks.set(`${String(s[1])}${k}`, proc.malloc(n(3)) >>> 0);
            if (n(4) > 0) proc.malloc(n(4));
          }
          break;
        case "fmany":
          for (let k = 0; k < n(2); k++) proc.free(addr(`${String(s[1])}${k}`, 0));
          break;
        case "sbrk": proc.sbrk(n(1)); break;
        case "mallinfo2": proc.mallinfo2(); break;
        case "malloc_stats": proc.malloc_stats(); break;
        case "malloc_info": proc.malloc_info(); break;
        default: throw new TypeError(`corruption step: unknown op ${String(s[0])}`);
      }
    } catch (error) {
      if (error instanceof TypeError && error.message.startsWith("corruption step:")) throw error;
      return { step: i, error, blocks };
    }
  }
  return { step: null, error: null, blocks };
}
