// The debug module's coverage exports (see coverage.ts). This file is an entry of the debug build
// only (scripts/build-wasm.mjs), so the release module has none of them.

import { COV_CHECK_COUNT, COV_CHECKS, cov_table } from "./coverage";

/** The number of ids. */
export function cov_count(): u32 { return <u32>(COV_CHECKS + COV_CHECK_COUNT); }

/** 1 if path `id` ran since the last cov_reset(), else 0 (0 for an id out of range). */
export function cov_hit(id: u32): u32 { return id < cov_count() ? <u32>load<u8>(cov_table() + <usize>id) : 0; }

/** Forgets every hit. */
export function cov_reset(): void { memory.fill(cov_table(), 0, <usize>cov_count()); }
