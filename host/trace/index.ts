// Trace formats and replay: op lists (ops v1 and its extension), glibc mtrace logs, and replay on
// a process through the public API, whole or streamed, with output in the format of the C oracle
// (oracle/replay/replay.c).

export { Op, NO_ID, MALLOPT_PARAMS, OP_LETTER, ALLOCATING, OpSink, OpsParser, OpsSyntaxError, parseOps, formatOps, writeOps, directive, threadLineError } from "./ops.js";
export type { OpList } from "./ops.js";
export { ByteWriter } from "./bytewriter.js";
export { convertMtrace, parseMtrace, parseTrace, isMtrace, MtraceConverter, MtraceSyntaxError } from "./mtrace.js";
export type { MtraceConversion, MtraceCounts } from "./mtrace.js";
export { Replayer, ReplayOpError, LateThreadLineError, LATENCY_BUCKETS, hasThreadLines } from "./replayer.js";
export type { ReplayEvents, ReplayCaller, ReplayThread } from "./replayer.js";
export { replay, formatReplay, formatReplayLine, formatMallinfo2, writeReplay, ReplayWriter, ThreadsReplayWriter, threadsHeader, firstDifference } from "./replay.js";
export type { ReplayTarget, ReplayOptions, ReplayResult, ReplayNote, ReplayDifference, ReplaySummaryLines, ThreadsReplay, ThreadsSummary } from "./replay.js";
export { replayStream, replayHeader, parseTraceStream, countIds, maybeGunzip } from "./stream.js";
export type { ByteSource, ReplayStreamOptions, ReplayStreamResult, TraceParser } from "./stream.js";
export { runWalkthrough, WALKTHROUGH_SIZES } from "./walkthrough.js";
export type { WalkthroughTarget } from "./walkthrough.js";
export { runCorruptionSteps } from "./corruption.js";
export type { CorruptionCase, CorruptionOutcome, CorruptionStep, CorruptionRun, CorruptionTarget } from "./corruption.js";
