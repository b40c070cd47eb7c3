// ptmalloc-wasm: glibc 2.36's malloc in WebAssembly, inside an emulated 32-bit Linux process.
// The public API (see API.md): createProcess, the constants, the errors and trace replay.

export { createProcess } from "./boot.js";
export { Process } from "./process.js";
export { Thread, ThreadCreateError } from "./threads.js";
export type { ThreadStack } from "./threads.js";
export type { ProcessOptions, Syscalls, Rlimit, RlimitName } from "./process.js";
export type { Mallinfo2 } from "./libc.js";
export type { Status } from "./kernel/kernel.js";
export { ProcessAbort, ProcessHang, ProcessKilled, SegmentationFault } from "./errors.js";
export * from "./constants.js";
export {
  replay,
  formatReplay,
  firstDifference,
  parseOps,
  formatOps,
  parseMtrace,
  convertMtrace,
  parseTrace,
  Op,
  NO_ID,
  replayStream,
  countIds,
  ReplayOpError,
  OpsSyntaxError,
  MtraceSyntaxError,
} from "./trace/index.js";
export type { OpList, ReplayOptions, ReplayResult, ReplayTarget, ReplayStreamOptions, ReplayStreamResult, ByteSource, ThreadsReplay } from "./trace/index.js";
