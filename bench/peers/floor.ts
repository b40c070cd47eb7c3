// The floors of the benchmark (bench/wasm/floor.ts, built to build/floor.wasm): the same two
// harnesses as the real peers, JS loop and in-Wasm loop, with no allocator behind them. A peer's
// ns/op over the floor's of the same mode says how much of its time is the allocator's.

import type { Peer } from "./peer.js";
import {
  instantiateAs, moduleJsRunner, moduleLoopRunner, moduleMissing, namedAlloc, type ModulePeer, type NamedAllocExports,
} from "./module-peer.js";

interface FloorExports extends NamedAllocExports {
  scratch_base(): number;
  reserve(bytes: number): number;
}

/** The floor's fake addresses point nowhere: touches land in its 64 KiB scratch area, masked. */
const SCRATCH_MASK = 0xffff;

const FLOOR: ModulePeer<FloorExports> = {
  file: "floor.wasm",
  instantiate: (module) => instantiateAs<FloorExports>(module, "floor module"),
  alloc: namedAlloc,
  reserve: (x, bytes) => x.reserve(bytes),
  /**
   * The JS floor does touch: the real JS-driven peers pay for the touch closure (a buffer check
   * and two stores into Wasm memory) in the same loop, so a floor without it would credit that
   * cost to the allocators. Its stores land in the scratch area (one AND more per store).
   */
  touchAddress(x) {
    const scratch = x.scratch_base();
    return (p) => scratch + (p & SCRATCH_MASK);
  },
  reportsMemory: false,
};

export function floorPeers(): Peer[] {
  const unavailable = () => moduleMissing(FLOOR.file, "npm run build:wasm");
  return [
    { name: "floor: empty JS→Wasm call", mode: "floor-js", unavailable, runner: (p) => moduleJsRunner(FLOOR, p) },
    { name: "floor: empty in-Wasm loop", mode: "floor-wasm", unavailable, runner: (p) => moduleLoopRunner(FLOOR, p) },
  ];
}
