// Heap corruption cases as data: steps on named blocks (allocate, free, overwrite a header or a
// link at an offset from a block), and what glibc 2.36 does with them, on i386 and on x86-64. The
// cases and the real outcomes live in test/fixtures/alloc/corruption-cases.json (i386) and
// test/fixtures/alloc64/corruption-cases.json (x86-64), produced by the C program
// oracle/replay/corrupt.c (built with and without -m32) from oracle/replay/corruption.cases; this
// module runs the same steps on a process of either architecture through the public API.
//
// The cases file writes a number once for both word sizes (`-1w` is the size field, `1030|1046`
// a size that differs); the fixtures hold the numbers evaluated for their architecture, so the
// steps below carry plain byte counts. A "word" is SIZE_SZ: 4 bytes on i386, 8 on x86_64 (taken
// from the process's `arch`), little-endian.
//
// Steps (offsets are from the block's address, the pointer malloc returned):
//   ["m", NAME, SIZE]                      NAME = malloc(SIZE)
//   ["c", NAME, NMEMB, SIZE]               NAME = calloc(NMEMB, SIZE)
//   ["a", NAME, ALIGN, SIZE]               NAME = memalign(ALIGN, SIZE)
//   ["r", NAME, OLD, OFF, SIZE]            NAME = realloc(OLD + OFF, SIZE)
//   ["f", NAME, OFF]                       free(NAME + OFF)
//   ["w32", NAME, OFF, VALUE]              32-bit little-endian VALUE at NAME + OFF
//   ["w64", NAME, OFF, VALUE]              64-bit little-endian VALUE at NAME + OFF (a negative
//                                          VALUE is its two's complement: -1 is all ones)
//   ["wptr", NAME, OFF, TARGET, TOFF]      the address TARGET + TOFF (a word) at NAME + OFF
//   ["wsafe", NAME, OFF, VALUE]            VALUE ^ ((NAME + OFF) >> 12): a safe-linked link
//   ["wsafeptr", NAME, OFF, TARGET, TOFF]  the address TARGET + TOFF, safe-linked
//   ["copy", NAME, OFF, SRC, SOFF, LEN]    LEN bytes from SRC + SOFF to NAME + OFF
//   ["mmany", NAME, COUNT, SIZE, GUARD]    NAME0 .. NAME<COUNT-1> = malloc(SIZE), each followed by
//                                          an unnamed malloc(GUARD) when GUARD > 0
//   ["fmany", NAME, COUNT]                 free(NAME0) .. free(NAME<COUNT-1>)
//   ["sbrk", INCREMENT]   ["mallinfo2"]   ["malloc_stats"]   ["malloc_info"]   ["malloc_trim"]
//   ["region", NAME, SIZE]                 NAME = an anonymous read-write mmap of SIZE bytes (memory
//                                          the program owns outside the heap, for fake chunks)
//   ["protect", NAME, PROT]                mprotect of the whole region NAME to PROT (0 none, 1 read)
//   ["waddr", NAME, OFF, VALUE]            the absolute address VALUE (a word) at NAME + OFF
//   ["w8", NAME, OFF, VALUE]               the byte VALUE at NAME + OFF (an off-by-one overflow)
//   ["fabs", VALUE]                        free(VALUE): a wild pointer
//   ["decrypt", NAME, OFF]                 records the safe-linked link at NAME + OFF decoded from
//                                          the word alone (how2heap's decrypt_safe_linking)
//   ["check", NAME, OFF]                   records the word at NAME + OFF
//   ["checksafe", NAME, OFF]               records it decoded as a safe-linked link
//
// Words, links and keys are computed as bigints: an x86_64 address has 47 bits, beyond the 32 of
// JavaScript's bitwise operators (a link is (pos >> 12) ^ ptr over the whole word).
//
// Before the first step the break moves up to a multiple of 64 KiB, as in corrupt.c.
// Seen values: every m, c, a, r step records the address it returned and every check the word it
// read, as ASLR-free text (describeValue below, the same rule as corrupt.c's), so that an attack
// that succeeds (a block returned where it aimed, a value written) is compared too.

export type CorruptionStep = (string | number)[];

export interface CorruptionOutcome {
  /** "SIGABRT" when glibc aborted, "SIGSEGV" when a load faulted; null when the steps ran to the end or hung. */
  signal: string | null;
  /** The step never returned: glibc looped forever (the oracle stopped it after two seconds). */
  hang?: boolean;
  /** Index of the step that ended the process (or hung). */
  step: number | null;
  /** What the allocating steps returned and the checks read, as [step, text] (see describeValue). */
  seen?: [number, string][];
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
  /** The process's ABI: its word is 8 bytes on "x86_64", 4 otherwise (absent: i386). */
  readonly arch?: string;
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
  malloc_trim(pad: number): number;
  sys: {
    mmap(addr: number, length: number, prot: number, flags: number, fd: number, offset: number): number;
    mprotect(addr: number, length: number, prot: number): number;
  };
}

export interface CorruptionRun {
  /** Index of the step that threw, or null if every step returned. */
  step: number | null;
  error: unknown;
  /** The blocks' addresses by name. */
  blocks: Map<string, number>;
  /** What the allocating steps returned and the checks read, up to the step that threw. */
  seen: [number, string][];
}

const BRK_ALIGN = 0x10000;
const HEAP_SPAN = 0x4000000; // 64 MiB above the initial break count as "heap"
const NEAR_SPAN = 0x1000000; // a named block at most 16 MiB below names a value

/**
 * A value as ASLR-free text, the rule corrupt.c applies: "0"; "R+0xOFF" inside a region R;
 * "heap+0xOFF" within 64 MiB above the initial break; "other" below the break (the program and
 * the allocator's state; corrupt.c also says so inside libc); "B+0xOFF" or "B-0xOFF" from the nearest
 * named block or region B, under 16 MiB away (the first named wins a tie); else the hex value
 * below 0x10000, or "other". A step's own result is described before it is named. `value` is an
 * unsigned word (a number; a bigint word above 2^53 is far from every block: "other").
 */
export function describeValue(value: number | bigint, brk0: number, blocks: Map<string, number>, regions: Map<string, number>): string {
  if (typeof value === "bigint") {
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) return "other";
    value = Number(value);
  }
  const v = value < 0 ? value >>> 0 : value; // an i386 address that crossed as a signed i32
  if (v === 0) return "0";
  const hex = (n: number) => `0x${n.toString(16)}`;
  let inRegion: string | null = null;
  for (const [name, size] of regions) {
    const base = blocks.get(name)!;
    if (v >= base && v - base < size) inRegion = name;
  }
  if (inRegion !== null) return `${inRegion}+${hex(v - blocks.get(inRegion)!)}`;
  if (v >= brk0 && v - brk0 < HEAP_SPAN) return `heap+${hex(v - brk0)}`;
  // the program's image, where the allocator's own state (main_arena) lives: no ASLR-free name
  if (v < brk0 && v >= 0x10000) return "other";
  let best: string | null = null;
  let bestAddr = 0;
  let bestDist = NEAR_SPAN;
  for (const [name, base] of blocks) {
    const dist = Math.abs(v - base);
    if (dist < bestDist) {
      best = name;
      bestAddr = base;
      bestDist = dist;
    }
  }
  if (best !== null) return `${best}${v >= bestAddr ? "+" : "-"}${hex(bestDist)}`;
  return v < 0x10000 ? hex(v) : "other";
}

/** `value` as `bytes` little-endian bytes (two's complement for a negative one). */
function wordLE(value: number | bigint, bytes: number): number[] {
  let v = BigInt.asUintN(8 * bytes, BigInt(value));
  const out: number[] = [];
  for (let i = 0; i < bytes; i++) {
    out.push(Number(v & 0xffn));
    v >>= 8n;
  }
  return out;
}

/** The unsigned little-endian word in `b`. */
function wordOf(b: Uint8Array): bigint {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  return v;
}

/**
 * A safe-linked link decoded without knowing where it is stored, as how2heap's
 * decrypt_safe_linking does: the key is the storage address >> 12, and when the link points near
 * its own storage (the same 1 MiB), each 12-bit slice of the key is the slice 12 bits above it of
 * the plain value, recovered from the top down. `wordBits` is 32 (i386) or 64 (x86_64).
 */
export function decryptSafeLink(cipher: bigint, wordBits = 32): bigint {
  let key = 0n;
  let plain = 0n;
  for (let i = 1; wordBits - 12 * (i - 1) > 0; i++) {
    const bits = BigInt(Math.max(wordBits - 12 * i, 0)); // i386: slices from bit 20, bit 8, bit 0
    plain = ((cipher ^ key) >> bits) << bits;
    key = plain >> 12n;
  }
  return plain;
}

/** Runs the steps in order; stops at the first step that throws and reports it. */
export function runCorruptionSteps(proc: CorruptionTarget, steps: readonly CorruptionStep[]): CorruptionRun {
  const blocks = new Map<string, number>();
  const regions = new Map<string, number>();
  const seen: [number, string][] = [];
  const wordBytes = proc.arch === "x86_64" ? 8 : 4;
  // an address as the API returned it: i386 results are u32 (>>> 0 in case one crossed signed),
  // x86_64 ones are already non-negative numbers below 2^47
  const address = wordBytes === 4 ? (a: number) => a >>> 0 : (a: number) => a;
  // corrupt.c first moves the break up to a multiple of 64 KiB: a safe-linking key then has the
  // same low bits on every run, so a link stored raw decodes to the same (mis)alignment
  const start = address(proc.sbrk(0));
  proc.sbrk(Math.ceil(start / BRK_ALIGN) * BRK_ALIGN - start);
  const brk0 = address(proc.sbrk(0));
  const record = (step: number, value: number | bigint) => seen.push([step, describeValue(value, brk0, blocks, regions)]);
  const word = (at: number): bigint => wordOf(proc.read(at, wordBytes));
  const writeWord = (at: number, value: number | bigint) => proc.write(at, wordLE(value, wordBytes));
  // (pos >> 12) ^ ptr over the whole word
  const safeLink = (at: number, value: number | bigint): bigint => BigInt.asUintN(8 * wordBytes, BigInt(value)) ^ (BigInt(at) >> 12n);
  const set = (name: unknown, value: number, step: number) => {
    record(step, address(value));
    blocks.set(String(name), address(value));
  };
  const addr = (name: unknown, off: unknown): number => {
    const base = blocks.get(String(name));
    if (base === undefined) throw new TypeError(`corruption step: unknown block ${String(name)}`);
    return address(base + Number(off));
  };
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i];
    const n = (k: number) => Number(s[k]);
    try {
      switch (s[0]) {
        case "m": set(s[1], proc.malloc(n(2)), i); break;
        case "c": set(s[1], proc.calloc(n(2), n(3)), i); break;
        case "a": set(s[1], proc.memalign(n(2), n(3)), i); break;
        case "r": set(s[1], proc.realloc(addr(s[2], s[3]), n(4)), i); break;
        case "region": {
          const r = proc.sys.mmap(0, n(2), 3 /* PROT_READ|PROT_WRITE */, 0x22 /* MAP_PRIVATE|MAP_ANONYMOUS */, -1, 0);
          if (r < 0) throw new TypeError(`corruption step: region: mmap failed (${r})`);
          blocks.set(String(s[1]), address(r));
          regions.set(String(s[1]), n(2));
          break;
        }
        case "protect": {
          const r = proc.sys.mprotect(addr(s[1], 0), regions.get(String(s[1])) ?? 0, n(2));
          if (r !== 0) throw new TypeError(`corruption step: protect: mprotect failed (${r})`);
          break;
        }
        case "waddr": writeWord(addr(s[1], s[2]), n(3)); break;
        case "check": record(i, word(addr(s[1], s[2]))); break;
        case "checksafe": {
          const where = addr(s[1], s[2]);
          record(i, safeLink(where, word(where)));
          break;
        }
        case "w8": proc.write(addr(s[1], s[2]), [n(3) & 0xff]); break;
        case "fabs": proc.free(address(n(1))); break;
        case "decrypt": record(i, decryptSafeLink(word(addr(s[1], s[2])), 8 * wordBytes)); break;
        case "malloc_trim": proc.malloc_trim(0); break;
        case "f": proc.free(addr(s[1], s[2])); break;
        case "w32": proc.write(addr(s[1], s[2]), wordLE(n(3), 4)); break;
        case "w64": proc.write(addr(s[1], s[2]), wordLE(n(3), 8)); break;
        case "wptr": writeWord(addr(s[1], s[2]), addr(s[3], s[4])); break;
        case "wsafe": {
          const where = addr(s[1], s[2]);
          writeWord(where, safeLink(where, n(3)));
          break;
        }
        case "wsafeptr": {
          const where = addr(s[1], s[2]);
          writeWord(where, safeLink(where, addr(s[3], s[4])));
          break;
        }
        case "copy": proc.write(addr(s[1], s[2]), proc.read(addr(s[3], s[4]), n(5))); break;
        case "mmany":
          for (let k = 0; k < n(2); k++) {
            blocks.set(`${String(s[1])}${k}`, address(proc.malloc(n(3))));
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
      return { step: i, error, blocks, seen };
    }
  }
  return { step: null, error: null, blocks, seen };
}
