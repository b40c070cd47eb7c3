// Trace formats and replay: op lists (ops v1), glibc mtrace logs, and replay on a process through
// the public API, with output in the format of the C oracle (oracle/replay/replay.c).

export { Op, NO_ID, MALLOPT_PARAMS, OpsParser, OpsSyntaxError, parseOps, formatOps, directive } from "./ops.js";
export type { OpList } from "./ops.js";
export { convertMtrace, parseMtrace, parseTrace, isMtrace, MtraceSyntaxError } from "./mtrace.js";
export type { MtraceConversion, MtraceCounts } from "./mtrace.js";
export { replay, formatReplay, formatReplayLine, formatMallinfo2, firstDifference } from "./replay.js";
export type { ReplayTarget, ReplayOptions, ReplayResult, ReplayNote, ReplayDifference } from "./replay.js";
export { runWalkthrough, WALKTHROUGH_SIZES } from "./walkthrough.js";
export type { WalkthroughTarget } from "./walkthrough.js";
export { runCorruptionSteps } from "./corruption.js";
export type { CorruptionCase, CorruptionOutcome, CorruptionStep, CorruptionRun, CorruptionTarget } from "./corruption.js";
