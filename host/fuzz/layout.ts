// Where glibc's state sits in a process, for the fuzzer's reads: main_arena, and the fields of mp_
// (and malloc.c's statics after it) that the generator and the arena checks need. The inspector
// finds them (host/inspect/layout.ts: mp_ by its tcache fields' initial values, in either build
// and either ABI); the field offsets are its, per word size.

import { locateState, mpOffset, parseMaps, viewOf, type Inspectable } from "../inspect/index.js";
import type { ArchInfo } from "./arch.js";
import type { ArenaState } from "./arenas.js";

export interface GlibcState extends ArenaState {
  /** mp_.mmap_threshold (a word) and mp_.n_mmaps_max (an int): addresses. */
  mmapThreshold: number;
  nMmapsMax: number;
}

/** Finds glibc's state in a fresh process of the Wasm build. */
export function locateGlibc(proc: Inspectable, arch: ArchInfo): GlibcState {
  const view = viewOf(proc);
  const addrs = locateState(view, proc.memory, arch.wide ? parseMaps(proc.maps()) : null);
  const field = (name: string) => addrs.mp + mpOffset(view, name);
  return {
    arch,
    mainArena: addrs.mainArena,
    narenas: field("narenas"),
    freeList: field("free_list"),
    mmapThreshold: field("mmap_threshold"),
    nMmapsMax: field("n_mmaps_max"),
  };
}
