// mincore(2): one byte per page, 1 when present (resident, or mapped to the zero page by a
// read), worked in chunks of up to 4096 pages that stop at each VMA's end, as Linux does, so a
// hole (ENOMEM) or a short vector (EFAULT) leaves the earlier bytes written.

import { EFAULT, EINVAL, ENOMEM, PAGE_SIZE } from "../constants.js";
import { presentParts } from "./far.js";
import type { Mm } from "./mm.js";
import { PAGE_NONE, REGION_PAGE_SHIFT } from "./pages.js";

export function sysMincore(mm: Mm, addrArg: unknown, lenArg: unknown, vec: unknown): number {
  let start = mm.word(addrArg);
  const len = mm.word(lenArg);
  if (start % PAGE_SIZE !== 0) return -EINVAL;
  // access_ok() bounds are those of the 64-bit kernel: any u32 range passes.
  let pages = Math.ceil(len / PAGE_SIZE);
  let out = 0;
  const { state, presentIn } = mm.pages;
  while (pages > 0) {
    const chunk = Math.min(pages, PAGE_SIZE);
    const i = mm.vmas.indexOf(start);
    if (i < 0) return -ENOMEM;
    const v = mm.vmas.list[i]!;
    const end = Math.min(v.end, start + chunk * PAGE_SIZE);
    mm.scanVma(i, start, end);
    const n = (end - start) / PAGE_SIZE;
    if (!(vec instanceof Uint8Array)) return -EFAULT;
    const room = Math.max(0, Math.min(n, vec.length - out));
    const at = mm.identity ? start : mm.runOffset(start, end);
    if (at < 0) presentParts(mm, start, room, vec, out);
    else {
      const first = at / PAGE_SIZE;
      for (let k = 0; k < room; ) {
        // a 4 MiB region with nothing present is all zeros, without reading its states
        const regionEnd = Math.min(room, (((first + k) >>> REGION_PAGE_SHIFT) + 1 << REGION_PAGE_SHIFT) - first);
        if (presentIn[(first + k) >>> REGION_PAGE_SHIFT] === 0) vec.fill(0, out + k, out + regionEnd);
        else for (let q = k; q < regionEnd; q++) vec[out + q] = state[first + q] === PAGE_NONE ? 0 : 1;
        k = regionEnd;
      }
    }
    if (room < n) return -EFAULT;
    pages -= n;
    out += n;
    start = end;
  }
  return 0;
}
