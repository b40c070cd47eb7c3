// The two ABIs the inspector reads: glibc 2.36's numbers as built for i386 (assembly/config.ts)
// and for x86-64 (host/generated/config-x86_64.ts, the same names), mp_'s field offsets for each
// word size, and where the program's static data starts. The walkers take every number from here
// (through their MemoryView), so one source reads both processes.
//
// mp_ is AssemblyScript's MallocPar (assembly/arena.ts): its fields in declaration order, each at
// the next offset aligned to its own size — `word` fields are size_t (4 or 8 bytes), `int` ones 4.
// On i386 every field is 4 bytes and the offsets are host/baseline/layout.ts's.

import * as I386 from "../../assembly/config.js";
import * as X86_64 from "../generated/config-x86_64.js";
import { PROGRAM_DATA_START } from "../constants.js";
import { WASM_DATA_START_X86_64 } from "../generated/wasm-layout.js";

export type Arch = "i386" | "x86_64";

/** The numeric constants of config.ts, whatever their value on one ABI. */
export type Config = { readonly [K in keyof typeof I386]: number };

/** struct malloc_par and malloc.c's other statics, in declaration order ("int" fields are 4 bytes on both). */
const MP_LAYOUT: readonly [name: string, kind: "word" | "int"][] = [
  ["trim_threshold", "word"], ["top_pad", "word"], ["mmap_threshold", "word"], ["arena_test", "word"],
  ["arena_max", "word"], ["n_mmaps", "int"], ["n_mmaps_max", "int"], ["max_n_mmaps", "int"],
  ["no_dyn_threshold", "int"], ["mmapped_mem", "word"], ["max_mmapped_mem", "word"], ["sbrk_base", "word"],
  ["tcache_bins", "word"], ["tcache_max_bytes", "word"], ["tcache_count", "word"], ["tcache_unsorted_limit", "word"],
  ["global_max_fast", "word"], ["perturb_byte", "int"], ["tcache_key", "word"], ["tcache", "word"],
  ["malloc_initialized", "int"], ["tcache_shutting_down", "int"], ["thread_arena", "word"], ["narenas", "word"],
  ["free_list", "word"], ["narenas_limit", "word"], ["next_to_use", "word"], ["aligned_heap_area", "word"],
  ["multiple_threads", "int"], ["nprocs", "int"], ["cur_tls", "word"], ["may_shrink_heap", "int"],
];

export interface MpField {
  offset: number;
  /** 4 or 8. */
  bytes: number;
  /** An int (read signed). */
  signed: boolean;
}

function mpLayout(wordBytes: number): ReadonlyMap<string, MpField> {
  const out = new Map<string, MpField>();
  let at = 0;
  for (const [name, kind] of MP_LAYOUT) {
    const bytes = kind === "word" ? wordBytes : 4;
    at = Math.ceil(at / bytes) * bytes;
    out.set(name, { offset: at, bytes, signed: kind === "int" });
    at += bytes;
  }
  return out;
}

export interface InspectAbi {
  arch: Arch;
  /** SIZE_SZ: a C word (size_t, a pointer). */
  wordBytes: 4 | 8;
  /** 2^(8 × wordBytes): where unsigned arithmetic wraps. */
  wordRange: number;
  /** Hex digits of an address, as maps() prints it (8 on i386, 12 on x86-64). */
  addrDigits: number;
  c: Config;
  mp: ReadonlyMap<string, MpField>;
  /** The Wasm offset where the allocator's static data (main_arena, then mp_) starts. */
  dataStartOffset: number;
}

export const ABI_I386: InspectAbi = {
  arch: "i386", wordBytes: 4, wordRange: 2 ** 32, addrDigits: 8, c: I386, mp: mpLayout(4), dataStartOffset: PROGRAM_DATA_START,
};

export const ABI_X86_64: InspectAbi = {
  arch: "x86_64", wordBytes: 8, wordRange: 2 ** 64, addrDigits: 12, c: X86_64 as unknown as Config, mp: mpLayout(8),
  dataStartOffset: WASM_DATA_START_X86_64,
};

export const abiOf = (arch: Arch | undefined): InspectAbi => (arch === "x86_64" ? ABI_X86_64 : ABI_I386);
