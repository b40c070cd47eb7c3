// Where exec puts things: the mmap base, the stack and the break of a 32-bit (compat) task on
// x86-64, as arch/x86/mm/mmap.c, fs/exec.c and fs/binfmt_elf.c compute them in Linux 6.1, with
// every random draw taken from one seeded generator so that a seed reproduces a layout.

import { PAGE_SIZE, TASK_SIZE as DEFAULT_TASK_SIZE } from "../constants.js";

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

export interface Layout {
  /** The end of user space (TASK_SIZE); nothing is ever mapped at or above it. */
  taskSize: number;
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
  aslr: 0 | 1 | 2;
  seed: number;
  stackRlimitCur: number;
  /** End of the program's data (the ELF's bss end, elf_brk). */
  dataEnd: number;
  /**
   * TASK_SIZE. Default 0xFFFFE000, a 32-bit task's on x86-64. A process whose Wasm memory has a
   * smaller maximum has a smaller address space: Linux's formulas below are applied to it as
   * they are, except the break's randomization, which a small space could not hold (see there).
   */
  taskSize?: number;
}

export function computeLayout(input: LayoutInput): Layout {
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
  return { taskSize: TASK_SIZE, mmapBase, legacyMmapBase, legacy, stackStart, stackEnd, startStack, startBrk };
}
