// The ways an emulated process (or one access into it) ends badly. Each is a real Error
// subclass carrying the signal Linux would deliver.

/** glibc detected heap corruption and called abort(): SIGABRT, with glibc's exact message. */
export class ProcessAbort extends Error {
  readonly signal = "SIGABRT" as const;
  constructor(message: string) {
    super(message);
    this.name = "ProcessAbort";
  }
}

/** The OOM killer: resident memory passed the emulated RAM plus swap. */
export class ProcessKilled extends Error {
  readonly signal = "SIGKILL" as const;
  constructor(message = "Out of memory: Killed process") {
    super(message);
    this.name = "ProcessKilled";
  }
}

/** A checked access (read/write/fill) hit an unmapped page or one without the needed PROT_* bit. */
export class SegmentationFault extends Error {
  readonly signal = "SIGSEGV" as const;
  constructor(
    readonly code: "SEGV_MAPERR" | "SEGV_ACCERR",
    /** The first faulting address (as si_addr). */
    readonly addr: number,
  ) {
    super(`Segmentation fault (${code}) at 0x${addr.toString(16).padStart(8, "0")}`);
    this.name = "SegmentationFault";
  }
}
