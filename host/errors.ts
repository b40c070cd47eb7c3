// The ways an emulated process (or one access into it) ends badly. Each is a real Error
// subclass carrying the signal Linux would deliver (none for a hang).

import { HANG_MESSAGE_PREFIX } from "../assembly/hangs.js";

/** glibc detected heap corruption and called abort(): SIGABRT, with glibc's exact message. */
export class ProcessAbort extends Error {
  /** The signal abort() raises. */
  readonly signal = "SIGABRT" as const;
  constructor(message: string) {
    super(message);
    this.name = "ProcessAbort";
  }
}

/** The OOM killer: resident memory passed the emulated RAM plus swap. */
export class ProcessKilled extends Error {
  /** The signal the OOM killer sends. */
  readonly signal = "SIGKILL" as const;
  constructor(message = "Out of memory: Killed process") {
    super(message);
    this.name = "ProcessKilled";
  }
}

/**
 * A load or store the real process would fault on: a checked access (read/write/fill) of an
 * unmapped page or one without the needed PROT_* bit, or glibc's own load through a pointer
 * whose chunk header (or a corrupted link) is not readable memory. Kills the process.
 */
export class SegmentationFault extends Error {
  /** The signal Linux delivers. */
  readonly signal = "SIGSEGV" as const;
  constructor(
    /** si_code: SEGV_MAPERR (no mapping there) or SEGV_ACCERR (a mapping without the permission). */
    readonly code: "SEGV_MAPERR" | "SEGV_ACCERR",
    /** The first faulting address (as si_addr). */
    readonly addr: number,
  ) {
    super(`Segmentation fault (${code}) at 0x${addr.toString(16).padStart(8, "0")}`);
    this.name = "SegmentationFault";
  }
}

/**
 * The process would never return from a call: glibc, walking one of its lists made cyclic by a
 * corruption (a fastbin after a double free, say), loops forever there — the real program hangs
 * until it is killed. The emulator bounds the walk instead and ends the process with this error
 * (no signal is delivered: a real hang delivers none). Every later call rethrows it.
 */
export class ProcessHang extends Error {
  /** No signal: a hung process receives none until someone kills it. */
  readonly signal = null;
  constructor(message: string) {
    super(message);
    this.name = "ProcessHang";
  }
}

// The allocator reports a hang through its abort import, with a message that starts with
// HANG_MESSAGE_PREFIX (no glibc message does); the messages are in assembly/hangs.ts.

/** The death an allocator abort stands for: ProcessHang for a hang message, else ProcessAbort. */
export function abortError(message: string): ProcessAbort | ProcessHang {
  return message.startsWith(HANG_MESSAGE_PREFIX) ? new ProcessHang(message) : new ProcessAbort(message);
}
