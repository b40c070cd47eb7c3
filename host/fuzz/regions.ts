// The mappings the fuzzer makes itself (ops M U X D Y), and a shadow of each page of them:
// (the generator aims U X D Y only at pages a region still has mapped: a hole may since hold
// another mapping — a glibc chunk, say — which the call would hit as the real kernel would)
// mapped or not, its protection, whether it should be resident, and the tag byte written at its
// first byte. After every kernel op the shadow is held against /proc/self/maps, mincore and the
// memory itself; a new mapping must not meet a live heap block or another region.
//
// Linux 6.1's rules the shadow follows: munmap of a page-aligned range always succeeds (holes
// included); mprotect fails with ENOMEM at the first hole, having changed the pages before it;
// madvise(MADV_DONTNEED) drops every mapped page of the range and reports ENOMEM if the range had
// a hole; mremap's outcome is the kernel's to decide (it depends on the neighbours), but when it
// succeeds the old range must have been mapped, and the pages carry their contents and residency.
//
// Addresses are the process's (x86_64: VAs above 2^32); its memory is read and written through
// its Space (space.ts), which knows where each page lives.

import { MAP_POPULATE, PROT_WRITE } from "../constants.js";
import type { Blocks } from "./blocks.js";
import type { Space } from "./space.js";

export const PAGE = 4096;
const ENOMEM = 12;

export interface RegionSys {
  mmap(addr: number, length: number, prot: number, flags: number, fd: number, offset: number): number;
  munmap(addr: number, length: number): number;
  mprotect(addr: number, length: number, prot: number): number;
  madvise(addr: number, length: number, advice: number): number;
  mremap(oldAddr: number, oldLength: number, newLength: number, flags: number): number;
  mincore(addr: number, length: number, vec: Uint8Array): number;
}

export class Region {
  constructor(
    public addr: number,
    public pages: number,
    readonly mapped: Uint8Array,
    readonly prot: Uint8Array,
    readonly resident: Uint8Array,
    readonly tag: Uint8Array,
  ) {}
  static make(addr: number, pages: number): Region {
    return new Region(addr, pages, new Uint8Array(pages), new Uint8Array(pages), new Uint8Array(pages), new Uint8Array(pages));
  }
  anyMapped(): boolean {
    return this.addr !== 0 && this.mapped.includes(1);
  }
  /** The maximal runs of mapped pages, as [first, end) page pairs. */
  runs(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    if (this.addr === 0) return out;
    for (let p = 0; p < this.pages; ) {
      if (!this.mapped[p]) { p++; continue; }
      const from = p;
      while (p < this.pages && this.mapped[p]) p++;
      out.push([from, p]);
    }
    return out;
  }
}

interface Vma {
  start: number;
  end: number;
  prot: number;
}

/** The VMAs of maps() text (x86_64's last line, [vsyscall], is no VMA of the process: VmSize leaves it out). */
function parseMaps(text: string): Vma[] {
  const out: Vma[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.endsWith("[vsyscall]")) continue;
    const dash = line.indexOf("-");
    const sp = line.indexOf(" ");
    const perms = line.slice(sp + 1, sp + 4);
    out.push({
      start: parseInt(line.slice(0, dash), 16),
      end: parseInt(line.slice(dash + 1, sp), 16),
      prot: (perms[0] === "r" ? 1 : 0) | (perms[1] === "w" ? 2 : 0) | (perms[2] === "x" ? 4 : 0),
    });
  }
  return out;
}

export class Regions {
  readonly list: Region[] = [];
  /** The twin's result of the last call (undefined without a twin). */
  twinResult: number | undefined = undefined;
  #vec = new Uint8Array(1024);

  constructor(
    private readonly sys: RegionSys,
    private readonly space: Space,
    private readonly maps: () => string,
    private readonly vmSizeKb: () => number,
    private readonly blocks: Blocks,
    /**
     * The twin's system calls and memory: each call is made on it right after the process's, and
     * the program's writes that follow go to both (touched pages shape VMAs: a write made before
     * the twin's own mmap or mprotect would land in a page it had not yet mapped or made writable).
     */
    private readonly twin: { sys: RegionSys; space: Space } | null = null,
    /**
     * The real kernel replays the ops (--oracle): whether a growing mremap grows in place or
     * moves depends on the neighbours, which differ there, so after one the region keeps only
     * its new length in either case (the pages beyond stay mapped, untracked, on both sides).
     */
    private readonly layoutFree = false,
    /**
     * The process runs against a wall (limits.ts): making pages writable adds to VmData and to
     * the committed memory, so mprotect may then fail with ENOMEM (mprotect_fixup's checks).
     */
    private readonly walls = false,
  ) {}

  /** mmap(NULL, …): returns the raw result; `fail` reports a broken rule. */
  mmap(length: number, prot: number, flags: number, fail: (what: string) => never): number {
    const res = this.sys.mmap(0, length, prot, flags, -1, 0);
    this.twinResult = this.twin?.sys.mmap(0, length, prot, flags, -1, 0);
    const pages = Math.ceil(length / PAGE);
    if (res < 0) {
      this.list.push(Region.make(0, 0));
      return res;
    }
    if (res % PAGE !== 0) fail(`mmap returned an unaligned address 0x${res.toString(16)}`);
    this.#checkFree(res, res + pages * PAGE, fail, -1);
    const r = Region.make(res, pages);
    r.mapped.fill(1);
    r.prot.fill(prot);
    // MAP_POPULATE faults the pages in, except in a PROT_NONE mapping (nothing may touch it)
    if (flags & MAP_POPULATE && prot !== 0) r.resident.fill(1);
    this.list.push(r);
    this.#touch(r, 0, pages);
    return res;
  }

  munmap(rid: number, offset: number, length: number): number {
    const r = this.list[rid];
    const res = this.sys.munmap(r.addr + offset, length);
    this.twinResult = this.twin?.sys.munmap(r.addr + offset, length);
    if (res === 0) this.#each(r, offset, length, (p) => { r.mapped[p] = 0; r.resident[p] = 0; r.tag[p] = 0; });
    return res;
  }

  /** The result Linux gives for mprotect/madvise over pages of `r` (0 or −ENOMEM), from the shadow. */
  #holeResult(r: Region, offset: number, length: number): number {
    let hole = false;
    this.#each(r, offset, length, (p) => { if (!r.mapped[p]) hole = true; });
    return hole ? -ENOMEM : 0;
  }

  mprotect(rid: number, offset: number, length: number, prot: number, fail: (what: string) => never): number {
    const r = this.list[rid];
    const expected = this.#holeResult(r, offset, length);
    const res = this.sys.mprotect(r.addr + offset, length, prot);
    this.twinResult = this.twin?.sys.mprotect(r.addr + offset, length, prot);
    if (res === -ENOMEM && expected === 0 && this.walls && prot & PROT_WRITE) {
      // refused at some VMA: the ones before it changed; what maps says is the new truth
      this.#protFromMaps(r, offset, length, fail);
      return res;
    }
    if (res !== expected) fail(`mprotect(region ${rid} + ${offset}, ${length}) = ${res}, expected ${expected}`);
    let stop = false;
    this.#each(r, offset, length, (p) => {
      if (!r.mapped[p]) stop = true;
      if (!stop) r.prot[p] = prot;
    });
    if (prot & PROT_WRITE) this.#touch(r, Math.floor(offset / PAGE), Math.ceil((offset + length) / PAGE));
    return res;
  }

  madvise(rid: number, offset: number, length: number, advice: number, fail: (what: string) => never): number {
    const r = this.list[rid];
    const expected = this.#holeResult(r, offset, length);
    const res = this.sys.madvise(r.addr + offset, length, advice);
    this.twinResult = this.twin?.sys.madvise(r.addr + offset, length, advice);
    if (res !== expected) fail(`madvise(region ${rid} + ${offset}, ${length}, ${advice}) = ${res}, expected ${expected}`);
    this.#each(r, offset, length, (p) => { if (r.mapped[p]) { r.resident[p] = 0; r.tag[p] = 0; } });
    return res;
  }

  mremap(rid: number, oldLength: number, newLength: number, flags: number, fail: (what: string) => never): number {
    const r = this.list[rid];
    const res = this.sys.mremap(r.addr, oldLength, newLength, flags);
    this.twinResult = this.twin?.sys.mremap(r.addr, oldLength, newLength, flags);
    if (res < 0) return res;
    const oldPages = Math.ceil(oldLength / PAGE);
    const newPages = Math.ceil(newLength / PAGE);
    if (res % PAGE !== 0) fail(`mremap returned an unaligned address 0x${res.toString(16)}`);
    // shrinking unmaps the tail and returns the address, whatever was mapped there (Linux looks no
    // further); growing or moving needs the whole old range mapped
    if (newPages > oldPages || res !== r.addr) {
      for (let p = 0; p < oldPages; p++) if (!r.mapped[p]) fail(`mremap of region ${rid} succeeded over its unmapped page ${p}`);
    }
    if (res === r.addr) {
      const grown = Region.make(r.addr, this.layoutFree && newPages > oldPages ? newPages : Math.max(r.pages, newPages));
      const kept = Math.min(r.pages, grown.pages);
      grown.mapped.set(r.mapped.subarray(0, kept));
      grown.prot.set(r.prot.subarray(0, kept));
      grown.resident.set(r.resident.subarray(0, kept));
      grown.tag.set(r.tag.subarray(0, kept));
      for (let p = newPages; p < oldPages; p++) { grown.mapped[p] = 0; grown.resident[p] = 0; grown.tag[p] = 0; }
      for (let p = oldPages; p < newPages; p++) { grown.mapped[p] = 1; grown.prot[p] = r.prot[oldPages - 1]; grown.resident[p] = 0; grown.tag[p] = 0; }
      this.list[rid] = grown;
      if (newPages > oldPages) this.#checkFree(res + oldPages * PAGE, res + newPages * PAGE, fail, rid);
      return res;
    }
    // moved: the old range is gone; pages of the region beyond it stay where they were, untracked
    const keep = Math.min(oldPages, newPages);
    const moved = Region.make(res, newPages);
    moved.mapped.set(r.mapped.subarray(0, keep));
    moved.prot.set(r.prot.subarray(0, keep));
    moved.resident.set(r.resident.subarray(0, keep));
    moved.tag.set(r.tag.subarray(0, keep));
    for (let p = keep; p < newPages; p++) { moved.mapped[p] = 1; moved.prot[p] = r.prot[oldPages - 1]; }
    this.list[rid] = moved;
    this.#checkFree(res, res + newPages * PAGE, fail, rid);
    return res;
  }

  /** Takes the protection of the region's pages in [offset, offset + length) from the maps. */
  #protFromMaps(r: Region, offset: number, length: number, fail: (what: string) => never): void {
    const vmas = parseMaps(this.maps());
    let v = 0;
    this.#each(r, offset, length, (p) => {
      if (!r.mapped[p]) return;
      const a = r.addr + p * PAGE;
      while (v < vmas.length && vmas[v].end <= a) v++;
      if (v >= vmas.length || vmas[v].start > a) fail(`page ${p} at 0x${a.toString(16)} is missing from /proc/self/maps after a refused mprotect`);
      r.prot[p] = vmas[v].prot;
    });
  }

  /**
   * Writes a tag to every third writable page of [from, to) (they become resident). The oracle
   * replayer writes to the same pages (oracle/replay/replay.c, `M` and `X`).
   */
  #touch(r: Region, from: number, to: number): void {
    for (let p = from; p < to && p < r.pages; p++) {
      if (p % 3 !== 0 || !r.mapped[p] || !(r.prot[p] & PROT_WRITE)) continue;
      const tag = (Math.floor(r.addr / PAGE) + p) % 255 + 1;
      this.space.setByte(r.addr + p * PAGE, tag);
      this.twin?.space.setByte(r.addr + p * PAGE, tag);
      r.tag[p] = tag;
      r.resident[p] = 1;
    }
  }

  #each(r: Region, offset: number, length: number, f: (page: number) => void): void {
    const to = Math.min(r.pages, Math.ceil((offset + length) / PAGE));
    for (let p = Math.floor(offset / PAGE); p < to; p++) f(p);
  }

  /** [start, end) must meet no live heap block and no other region's mapped page. */
  #checkFree(start: number, end: number, fail: (what: string) => never, except: number): void {
    const at = this.blocks.overlapping(start, end);
    const owner = at >= 0 ? this.blocks.ownerAt(at) : -1;
    if (at >= 0) fail(`a new mapping [0x${start.toString(16)}, 0x${end.toString(16)}) overlaps live block ${owner}`);
    this.list.forEach((o, i) => {
      if (i === except || o.addr === 0) return;
      for (let p = 0; p < o.pages; p++) {
        const a = o.addr + p * PAGE;
        if (o.mapped[p] && a < end && a + PAGE > start) fail(`a new mapping [0x${start.toString(16)}, 0x${end.toString(16)}) overlaps region ${i}`);
      }
    });
  }

  /** VmSize against the sum of the maps (status() counts RSS too, which costs a pass over the memory). */
  verifyStatus(fail: (what: string) => never): void {
    let total = 0;
    for (const v of parseMaps(this.maps())) total += v.end - v.start;
    if (total / 1024 !== this.vmSizeKb()) fail(`VmSize ${this.vmSizeKb()} kB but the maps add up to ${total / 1024} kB`);
  }

  /** Holds every region (or region `only`) against maps(), mincore() and the memory. */
  verify(fail: (what: string) => never, only = -1): void {
    const vmas = parseMaps(this.maps());
    this.list.forEach((r, rid) => {
      if (r.addr === 0 || (only >= 0 && rid !== only)) return;
      if (this.#vec.length < r.pages) this.#vec = new Uint8Array(r.pages);
      let first = -1;
      for (let p = 0; p <= r.pages; p++) {
        // mincore over each maximal run of mapped pages
        if (p < r.pages && r.mapped[p]) { if (first < 0) first = p; continue; }
        if (first < 0) continue;
        const rc = this.sys.mincore(r.addr + first * PAGE, (p - first) * PAGE, this.#vec);
        if (rc !== 0) fail(`mincore over mapped pages ${first}..${p - 1} of region ${rid} = ${rc}`);
        for (let q = first; q < p; q++) {
          if ((this.#vec[q - first] & 1) !== r.resident[q]) fail(`mincore: page ${q} of region ${rid} ${r.resident[q] ? "should" : "should not"} be resident`);
        }
        first = -1;
      }
      let v = 0;
      for (let p = 0; p < r.pages; p++) {
        if (!r.mapped[p]) continue;
        const a = r.addr + p * PAGE;
        while (v < vmas.length && vmas[v].end <= a) v++;
        if (v >= vmas.length || vmas[v].start > a) fail(`page ${p} of region ${rid} (0x${a.toString(16)}) is missing from /proc/self/maps`);
        if (vmas[v].prot !== r.prot[p]) fail(`page ${p} of region ${rid}: maps says prot ${vmas[v].prot}, expected ${r.prot[p]}`);
        const first = this.space.byte(a);
        if (first !== r.tag[p]) fail(`page ${p} of region ${rid}: first byte ${first}, expected ${r.tag[p]}`);
      }
    });
  }
}
