// mmap(2) and munmap(2) for anonymous memory: glibc's mmap64 offset check, then
// ksys_mmap_pgoff → do_mmap → mmap_region of Linux 6.1, in their order of checks.

import {
  EAGAIN,
  EBADF,
  EEXIST,
  EINVAL,
  ENOMEM,
  EPERM,
  MAP_32BIT,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_GROWSDOWN,
  MAP_HUGETLB,
  MAP_LOCKED,
  MAP_NONBLOCK,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_STACK,
  MAP_SYNC,
  MAP_TYPE,
  PAGE_SIZE,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
} from "../constants.js";
import { offset64, ulong } from "./args.js";
import { pageAlign } from "./aslr.js";
import { MMAP_MIN_ADDR, type Mm } from "./mm.js";
import {
  BACKING_ANON,
  BACKING_SHMEM,
  MAX_MAP_COUNT,
  VM_ACCOUNT,
  VM_EXEC,
  VM_GROWSDOWN,
  VM_LOCKED,
  VM_MAYSHARE,
  VM_NOHUGEPAGE,
  VM_NORESERVE,
  VM_READ,
  VM_SHARED,
  VM_SYNC,
  VM_WRITE,
  pagesOf,
} from "./vma.js";

/** calc_vm_prot_bits: unknown PROT bits are ignored by mmap (mprotect is the strict one). */
export function protToVmFlags(prot: number): number {
  return (prot & PROT_READ ? VM_READ : 0) | (prot & PROT_WRITE ? VM_WRITE : 0) | (prot & PROT_EXEC ? VM_EXEC : 0);
}

/** glibc's mmap64 refuses offsets that are unaligned, negative or ≥ 2^44 before any syscall. */
const MMAP_OFF_LIMIT = 2 ** 44;

export function sysMmap(
  mm: Mm,
  addrArg: unknown,
  lenArg: unknown,
  protArg: unknown,
  flagsArg: unknown,
  _fd: unknown, // an anonymous mapping ignores its fd, as Linux does
  offsetArg: unknown,
): number {
  let addr = mm.word(addrArg);
  const lenIn = mm.word(lenArg);
  const prot = ulong(protArg);
  let flags = ulong(flagsArg);
  const offset = offset64(offsetArg);
  if (offset % PAGE_SIZE !== 0) return -EINVAL;
  // i386 glibc's mmap64 also refuses what mmap2's page offset cannot carry; x86-64's passes any
  // page-aligned offset, which an anonymous mapping ignores.
  if (mm.identity && (offset < 0 || offset >= MMAP_OFF_LIMIT)) return -EINVAL;

  // ksys_mmap_pgoff: only anonymous memory exists here, so any file mapping has a bad fd.
  if (!(flags & MAP_ANONYMOUS)) return -EBADF;
  // No huge pages are reserved: hugetlbfs cannot back the mapping.
  if (flags & MAP_HUGETLB) return lenIn === 0 ? -EINVAL : -ENOMEM;

  // do_mmap
  if (lenIn === 0) return -EINVAL;
  if (flags & MAP_FIXED_NOREPLACE) flags |= MAP_FIXED;
  const fixed = (flags & MAP_FIXED) !== 0;
  if (!fixed) {
    addr -= addr % PAGE_SIZE;
    if (addr !== 0 && addr < MMAP_MIN_ADDR) addr = pageAlign(MMAP_MIN_ADDR);
  }
  // 64-bit arithmetic: a u32 length never wraps to 0 here, and do_mmap's EOVERFLOW check
  // (pgoff + pages wrapping an unsigned long) cannot fire for a compat task either.
  const len = pageAlign(lenIn);
  if (mm.mapCount > MAX_MAP_COUNT) return -ENOMEM;
  // MAP_32BIT means something only to a 64-bit task (i386 ignores the bit)
  addr = mm.getUnmappedArea(addr, len, fixed, !mm.identity && (flags & MAP_32BIT) !== 0);
  if (addr < 0) return addr;
  if (flags & MAP_FIXED_NOREPLACE && mm.vmas.intersecting(addr, addr + len) !== undefined) return -EEXIST;

  let vmFlags = protToVmFlags(prot) | mm.defFlags;
  if (flags & MAP_GROWSDOWN) vmFlags |= VM_GROWSDOWN;
  if (flags & MAP_SYNC) vmFlags |= VM_SYNC; // calc_vm_flag_bits keeps it even on private memory
  // Since 6.7 (with transparent huge pages built in) a thread stack is kept off huge pages, so
  // it never merges with a plain neighbour.
  if (flags & MAP_STACK) vmFlags |= VM_NOHUGEPAGE;
  if (flags & MAP_LOCKED) {
    vmFlags |= VM_LOCKED;
    if (!mm.canDoMlock()) return -EPERM;
  }
  if (!mm.mlockFutureOk(vmFlags, len)) return -EAGAIN;
  const type = flags & MAP_TYPE;
  let pgoff: number;
  if (type === MAP_SHARED) {
    if (vmFlags & VM_GROWSDOWN) return -EINVAL;
    pgoff = 0;
    vmFlags |= VM_SHARED | VM_MAYSHARE;
  } else if (type === MAP_PRIVATE) {
    pgoff = pagesOf(addr);
  } else {
    return -EINVAL; // MAP_SHARED_VALIDATE is only known to file mappings
  }
  if (flags & MAP_NORESERVE && mm.overcommit !== 2) vmFlags |= VM_NORESERVE;

  const r = mmapRegion(mm, addr, len, vmFlags, pgoff);
  if (r < 0) return r;
  if (vmFlags & VM_LOCKED || (flags & (MAP_POPULATE | MAP_NONBLOCK)) === MAP_POPULATE) mm.populate(addr, addr + len, true);
  return addr;
}

/** mmap_region: limits, unmapping what MAP_FIXED replaces, commit charge, the new VMA. */
export function mmapRegion(mm: Mm, addr: number, len: number, vmFlags: number, pgoff: number): number {
  const pages = pagesOf(len);
  const end = addr + len;
  if (!mm.mayExpandVm(vmFlags, pages)) {
    if (!mm.mayExpandVm(vmFlags, pages - mm.vmas.pagesMapped(addr, end))) return -ENOMEM;
  }
  if (mm.unmap(addr, end) < 0) return -ENOMEM;
  let charged = 0;
  const shared = (vmFlags & VM_SHARED) !== 0;
  if (!shared && (vmFlags & (VM_WRITE | VM_NORESERVE)) === VM_WRITE) {
    if (!mm.chargeCommit(pages)) return -ENOMEM;
    charged = pages;
    vmFlags |= VM_ACCOUNT;
  }
  let shmemCharge = 0;
  if (shared && !(vmFlags & VM_NORESERVE)) {
    // shmem_zero_setup → shmem_acct_size: the object is charged whole, whatever the prot.
    if (!mm.chargeCommit(pages)) return -ENOMEM;
    shmemCharge = pages;
  }
  if (!mm.ensureMemory(end)) {
    mm.commit.uncharge(charged + shmemCharge);
    return -ENOMEM;
  }
  mm.insertVma({
    start: addr,
    end,
    flags: vmFlags,
    pgoff,
    backing: shared ? BACKING_SHMEM : BACKING_ANON,
    anonVma: 0,
    objectId: shared ? mm.newShmem(pages, shmemCharge) : 0,
  });
  if (vmFlags & VM_LOCKED) mm.lockedVm += pages;
  return addr;
}

export function sysMunmap(mm: Mm, addrArg: unknown, lenArg: unknown): number {
  const addr = mm.word(addrArg);
  const lenIn = mm.word(lenArg);
  if (addr % PAGE_SIZE !== 0 || addr > mm.layout.taskSize || lenIn > mm.layout.taskSize - addr) return -EINVAL;
  const len = pageAlign(lenIn);
  if (len === 0) return -EINVAL;
  return mm.unmap(addr, addr + len);
}
