// Where exec puts things: the mmap base, the stack, the program and the break of a 32-bit
// (compat) task or a 64-bit PIE task on x86-64, as arch/x86/mm/mmap.c, fs/exec.c and
// fs/binfmt_elf.c compute them in Linux 6.1, with every random draw taken from one seeded
// generator so that a seed reproduces a layout. Also where each part of the address space lives
// in the Wasm memory (the windows; docs/x86_64-layout.md).

import {
  PAGE_SIZE, PROGRAM_TEXT_START, TASK_SIZE as DEFAULT_TASK_SIZE, TASK_SIZE_X86_64, X86_64_FRAME_POOL_BYTES, X86_64_STACK_WINDOW_BYTES,
} from "../constants.js";

export type Arch = "i386" | "x86_64";

/**
 * A window: the virtual addresses [va, va + length) live in the Wasm memory's bytes
 * [offset, offset + length). An i386 process has one, the identity; an x86_64 process three.
 */
export interface Window {
  readonly va: number;
  readonly offset: number;
  readonly length: number;
}

/** The Wasm offset of the byte at va through `windows`, or -1 when none holds va. */
export function windowOffset(windows: readonly Window[], va: number): number {
  for (const w of windows) {
    const d = va - w.va;
    if (d >= 0 && d < w.length) return w.offset + d;
  }
  return -1;
}

/** The VA of the byte at Wasm offset `offset` through `windows`, or -1 when none holds it. */
export function windowVa(windows: readonly Window[], offset: number): number {
  for (const w of windows) {
    const d = offset - w.offset;
    if (d >= 0 && d < w.length) return w.va + d;
  }
  return -1;
}

/** A small seeded PRNG (SplitMix32): deterministic, fast, good enough for page offsets. */
export class Prng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  nextU32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }
}

const MiB = 1024 * 1024;
/** stack_guard_gap: 256 pages kept free below a VM_GROWSDOWN VMA. */
export const STACK_GUARD_GAP = 256 * PAGE_SIZE;
/** STACK_RND_MASK for ia32: 11 bits of pages (8 MiB) of stack-top randomization. */
const STACK_RND_PAGES_MASK = 0x7ff;
/** mmap32_rnd_bits (CONFIG_ARCH_MMAP_RND_COMPAT_BITS default). */
const MMAP32_RND_BITS = 8;
/** arch_randomize_brk for ia32: randomize_page(brk, 32 MiB). */
const BRK_RND_RANGE = 32 * MiB;
/** setup_arg_pages grows a fresh stack by 128 KiB below the page holding argv/envp. */
const INITIAL_STACK_BYTES = 0x21000;

export const pageAlign = (x: number) => Math.ceil(x / PAGE_SIZE) * PAGE_SIZE;
export const pageDown = (x: number) => Math.floor(x / PAGE_SIZE) * PAGE_SIZE;

/** Where the frames of far pages live in the memory. */
export interface FramePool {
  readonly offset: number;
  readonly length: number;
}

export interface Layout {
  arch: Arch;
  /** The end of user space (TASK_SIZE); nothing is ever mapped at or above it. */
  taskSize: number;
  /**
   * Where the program's image starts (the VA of Wasm offset PROGRAM_TEXT_START): the PIE load
   * base on x86_64 (ELF_ET_DYN_BASE + arch_mmap_rnd), PROGRAM_TEXT_START itself on i386.
   */
  loadBase: number;
  /**
   * The windows, fixed for the process's life, in offset order. i386: one, the identity over
   * [0, TASK_SIZE). x86_64: W0 the program and its break, W1 the mmap zone ending at mmap_base,
   * W2 the stack at the top of the memory.
   */
  windows: readonly Window[];
  /**
   * The Wasm bytes [offset, offset + length) that back the pages no window holds, a 4 KiB frame
   * at a time (frames.ts): between W0 and W1 on x86_64; empty on i386, where nothing is far.
   */
  framePool: FramePool;
  /** PF_RANDOMIZE (aslr ≥ 1): what later draws (MAP_32BIT's base) depend on. */
  randomized: boolean;
  /** Top of the top-down mmap zone (mm->mmap_compat_base). */
  mmapBase: number;
  /** Start of the bottom-up zone (mmap_compat_legacy_base, TASK_UNMAPPED_BASE + rnd). */
  legacyMmapBase: number;
  /**
   * The legacy bottom-up layout (ADDR_COMPAT_LAYOUT or vm.legacy_va_layout, neither of which
   * is modelled: always false). On x86 an infinite RLIMIT_STACK does not select it; it only
   * pushes mmap_base down to 1/6 of the address space.
   */
  legacy: boolean;
  /** The initial [stack] VMA. */
  stackStart: number;
  stackEnd: number;
  /** mm->start_stack (inside the top page of the stack; names the [stack] VMA). */
  startStack: number;
  startBrk: number;
}

export interface LayoutInput {
  /** Default "i386". */
  arch?: Arch;
  aslr: 0 | 1 | 2;
  seed: number;
  stackRlimitCur: number;
  /**
   * End of the program's image (the ELF's bss end, elf_brk) as a Wasm offset: on i386 that is
   * its address; on x86_64 the image lies at loadBase + (offset − PROGRAM_TEXT_START).
   */
  dataEnd: number;
  /**
   * TASK_SIZE. Default 0xFFFFE000, a 32-bit task's on x86-64. A process whose Wasm memory has a
   * smaller maximum has a smaller address space: Linux's formulas below are applied to it as
   * they are, except the break's randomization, which a small space could not hold (see there).
   */
  taskSize?: number;
}

export function computeLayout(input: LayoutInput): Layout {
  if (input.arch === "x86_64") return computeLayout64(input);
  const rng = new Prng(input.seed);
  const TASK_SIZE = input.taskSize ?? DEFAULT_TASK_SIZE;
  const randomize = input.aslr >= 1; // PF_RANDOMIZE

  // arch_pick_mmap_layout: one random draw shared by both bases.
  const rnd = randomize ? (rng.nextU32() & ((1 << MMAP32_RND_BITS) - 1)) * PAGE_SIZE : 0;
  const legacyMmapBase = pageAlign(Math.floor(TASK_SIZE / 3)) + rnd;
  // mmap_base(): leave room for the stack (its rlimit, its randomization and the guard gap),
  // at least 128 MiB and at most 5/6 of the address space.
  const stackMaxRandom = randomize ? STACK_RND_PAGES_MASK * PAGE_SIZE : 0;
  let gap = input.stackRlimitCur === Infinity ? Infinity : input.stackRlimitCur + stackMaxRandom + STACK_GUARD_GAP;
  gap = Math.min(Math.max(gap, 128 * MiB), Math.floor(TASK_SIZE / 6) * 5);
  const legacy = false;
  const mmapBase = pageAlign(TASK_SIZE - gap - rnd);

  // randomize_stack_top, then arch_align_stack's sub-page jitter (which can cost the top page).
  const stackRnd = randomize ? (rng.nextU32() & STACK_RND_PAGES_MASK) * PAGE_SIZE : 0;
  const stackTop = TASK_SIZE - stackRnd;
  const jitter = randomize ? Math.ceil((rng.nextU32() % 8192) / 16) * 16 : 0;
  const stackEnd = pageAlign(stackTop - jitter);
  const stackStart = stackEnd - INITIAL_STACK_BYTES;
  const startStack = stackEnd - 0x100;

  // The break starts at the page-aligned end of the data; randomized in mode 2 only. Linux's
  // 32 MiB range would put the heap above mmap_base in a small address space (mmap_base sits at
  // 1/6 of it when the stack gap is clamped): there it is 1/32 of the space, which leaves the
  // default (32 MiB of 4 GiB) as it is.
  let startBrk = pageAlign(input.dataEnd);
  if (randomize && input.aslr === 2) {
    const pages = Math.min(BRK_RND_RANGE, pageDown(TASK_SIZE / 32)) / PAGE_SIZE;
    startBrk += (rng.nextU32() % pages) * PAGE_SIZE;
  }
  const windows = [{ va: 0, offset: 0, length: TASK_SIZE }];
  const loadBase = PROGRAM_TEXT_START;
  const framePool = { offset: 0, length: 0 };
  return { arch: "i386", taskSize: TASK_SIZE, loadBase, windows, framePool, randomized: randomize, mmapBase, legacyMmapBase, legacy, stackStart, stackEnd, startStack, startBrk };
}

/** mmap64_rnd_bits (CONFIG_ARCH_MMAP_RND_BITS, 28 on Debian's x86-64 kernels). */
const MMAP64_RND_BITS = 28;
/** STACK_RND_MASK for a 64-bit task: 22 bits of pages (16 GiB) of stack-top randomization. */
const STACK_RND_PAGES_MASK_64 = 0x3fffff;
/** arch_randomize_brk for a 64-bit task in Linux 6.1: randomize_page(brk, 0x02000000). */
const BRK_RND_RANGE_64 = 0x02000000;
/** DEFAULT_MAP_WINDOW: the 47-bit user space (5-level paging's larger one is opt-in). */
const DEFAULT_MAP_WINDOW = TASK_SIZE_X86_64;
/** ELF_ET_DYN_BASE: where a PIE program is loaded, 2/3 of the 47-bit space (0x555555554aaa). */
const ELF_ET_DYN_BASE = Math.floor(DEFAULT_MAP_WINDOW / 3) * 2;
const GiB = 1024 * MiB;
/** The Wasm memory of an x86_64 process: all of it (65536 Wasm pages). */
export const X86_64_MEMORY_BYTES = 4 * GiB;
/**
 * W0's offset and reach: the program image starts at PROGRAM_TEXT_START, the break stays below
 * 2 GiB. The frame pool follows; W1 starts where it ends.
 */
const W0_OFFSET = PROGRAM_TEXT_START;
const POOL_OFFSET = 2 * GiB;
const W1_OFFSET = POOL_OFFSET + X86_64_FRAME_POOL_BYTES;

function computeLayout64(input: LayoutInput): Layout {
  const rng = new Prng(input.seed);
  const TASK_SIZE = TASK_SIZE_X86_64;
  const randomize = input.aslr >= 1;
  // arch_rnd(mmap64_rnd_bits): up to 1 TiB below the stack gap.
  const pageRnd = () => (rng.nextU32() % 2 ** MMAP64_RND_BITS) * PAGE_SIZE;
  const rnd = randomize ? pageRnd() : 0;
  const legacyMmapBase = pageAlign(Math.floor(TASK_SIZE / 3)) + rnd;
  const stackMaxRandom = randomize ? STACK_RND_PAGES_MASK_64 * PAGE_SIZE : 0;
  let gap = input.stackRlimitCur === Infinity ? Infinity : input.stackRlimitCur + stackMaxRandom + STACK_GUARD_GAP;
  gap = Math.min(Math.max(gap, 128 * MiB), Math.floor(TASK_SIZE / 6) * 5);
  const mmapBase = pageAlign(TASK_SIZE - gap - rnd);

  // randomize_stack_top(STACK_TOP), then arch_align_stack's jitter.
  const stackRnd = randomize ? (rng.nextU32() % (STACK_RND_PAGES_MASK_64 + 1)) * PAGE_SIZE : 0;
  const stackTop = TASK_SIZE - stackRnd;
  const jitter = randomize ? Math.ceil((rng.nextU32() % 8192) / 16) * 16 : 0;
  const stackEnd = pageAlign(stackTop - jitter);
  const stackStart = stackEnd - INITIAL_STACK_BYTES;
  const startStack = stackEnd - 0x100;

  // load_elf_binary, ET_DYN with an interpreter: ELF_ET_DYN_BASE + arch_mmap_rnd(), page-aligned.
  const loadBase = pageDown(ELF_ET_DYN_BASE + (randomize ? pageRnd() : 0));
  let startBrk = pageAlign(loadBase + (input.dataEnd - PROGRAM_TEXT_START));
  if (randomize && input.aslr === 2) startBrk += (rng.nextU32() % (BRK_RND_RANGE_64 / PAGE_SIZE)) * PAGE_SIZE;

  // The windows. W2 ends at the stack's top and reaches down 64 MiB, or to mmap_base if that is
  // nearer; W1 takes what the frame pool leaves of the upper 2 GiB, ending at mmap_base (clipped to
  // stay clear of W0 when a huge RLIMIT_STACK brings mmap_base down to the program).
  const w2Length = Math.min(X86_64_STACK_WINDOW_BYTES, Math.max(0, stackEnd - Math.max(mmapBase, 0)));
  const w0 = { va: loadBase, offset: W0_OFFSET, length: POOL_OFFSET - W0_OFFSET };
  let w1Length = X86_64_MEMORY_BYTES - W1_OFFSET - w2Length;
  const w0End = w0.va + w0.length;
  if (mmapBase > w0.va && mmapBase - w1Length < w0End) w1Length = Math.max(0, mmapBase - w0End);
  const w1 = { va: mmapBase - w1Length, offset: W1_OFFSET, length: w1Length };
  const w2 = { va: stackEnd - w2Length, offset: X86_64_MEMORY_BYTES - w2Length, length: w2Length };
  const windows = [w0, w1, w2];
  const framePool = { offset: POOL_OFFSET, length: X86_64_FRAME_POOL_BYTES };
  return { arch: "x86_64", taskSize: TASK_SIZE, loadBase, windows, framePool, randomized: randomize, mmapBase, legacyMmapBase, legacy: false, stackStart, stackEnd, startStack, startBrk };
}

/**
 * How many bytes of Wasm memory a process with this layout needs from the start: up to its
 * stack's page on i386 (the memory grows from there), all 4 GiB on x86_64 (the stack's window
 * is the top of the memory).
 */
export function initialMemoryBytes(layout: Layout): number {
  return layout.arch === "x86_64" ? X86_64_MEMORY_BYTES : layout.stackEnd;
}
