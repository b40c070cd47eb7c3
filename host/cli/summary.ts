// What `replay --summary` and `replay --json` report: counts, speed, peak memory, fragmentation,
// and glibc's final malloc_stats.

import type { Process } from "../index.js";
import type { Mallinfo2 } from "../libc.js";
import { LATENCY_BUCKETS, type ReplayStreamResult } from "../trace/index.js";

export interface RunSummary {
  file: string;
  format: "ops" | "mtrace";
  ops: number;
  ids: number;
  frees: number;
  mmappedAllocs: number;
  errors: number;
  /** Wall time of the whole replay (reading, parsing, replaying), seconds. */
  wallSeconds: number;
  opsPerSecond: number;
  /** Largest break − initial break seen after any op. */
  peakHeapBytes: number;
  /** glibc's `max mmap bytes` (malloc_stats). */
  peakMmappedBytes: number;
  /** The emulated process's VmHWM (peak resident set), kB. */
  peakRssKiB: number;
  /**
   * At the end: free bytes held in holes below the top chunk, over the heap's size
   * ((mallinfo2 fordblks − keepcost) / arena): memory the heap keeps but cannot give back.
   */
  fragmentation: number;
  brkDelta: number;
  mallinfo2: Mallinfo2;
  mallocStats: string;
  /** With --timings: op latency percentiles in ns (upper bounds of power-of-two buckets). */
  latencyNs?: { p50: number; p90: number; p99: number; max: number };
}

export function summarize(file: string, r: ReplayStreamResult, proc: Process, wallSeconds: number): RunSummary {
  const maxMmap = /max mmap bytes\s*=\s*(\d+)/.exec(r.mallocStats);
  const s: RunSummary = {
    file,
    format: r.format,
    ops: r.ops,
    ids: r.ids,
    frees: r.frees,
    mmappedAllocs: r.mmappedAllocs,
    errors: r.errors,
    wallSeconds,
    opsPerSecond: wallSeconds > 0 ? r.ops / wallSeconds : 0,
    peakHeapBytes: r.maxBrkDelta,
    peakMmappedBytes: maxMmap ? Number(maxMmap[1]) : 0,
    peakRssKiB: proc.status().VmHWM,
    fragmentation: r.mallinfo2.arena > 0 ? (r.mallinfo2.fordblks - r.mallinfo2.keepcost) / r.mallinfo2.arena : 0,
    brkDelta: r.brkDelta,
    mallinfo2: r.mallinfo2,
    mallocStats: r.mallocStats,
  };
  if (r.latency !== null) s.latencyNs = percentiles(r.latency, r.ops);
  return s;
}

function percentiles(buckets: Float64Array, total: number): { p50: number; p90: number; p99: number; max: number } {
  const upper = (k: number) => 2 ** (k + 1);
  const at = (q: number) => {
    let seen = 0;
    for (let k = 0; k < LATENCY_BUCKETS; k++) {
      seen += buckets[k];
      if (seen >= q * total) return upper(k);
    }
    return upper(LATENCY_BUCKETS - 1);
  };
  let max = 0;
  for (let k = 0; k < LATENCY_BUCKETS; k++) if (buckets[k] > 0) max = upper(k);
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max };
}

export function summaryText(s: RunSummary): string {
  const n = (v: number) => v.toLocaleString("en-US");
  const lines = [
    `trace           ${s.file} (${s.format === "ops" ? "op list" : "mtrace log"})`,
    `ops             ${n(s.ops)}: ${n(s.ids)} allocations (${n(s.mmappedAllocs)} mmapped), ${n(s.frees)} frees`,
    `wall time       ${s.wallSeconds.toFixed(3)} s (reading, parsing and replaying)`,
    `ops/s           ${n(Math.round(s.opsPerSecond))}`,
    `peak heap       ${n(s.peakHeapBytes)} bytes (largest break − initial break)`,
    `peak mmapped    ${n(s.peakMmappedBytes)} bytes (glibc's max mmap bytes)`,
    `peak RSS        ${n(s.peakRssKiB)} kB (VmHWM of the emulated process)`,
    `fragmentation   ${(s.fragmentation * 100).toFixed(1)} % of the heap is free holes below the top chunk at the end ((fordblks ${n(s.mallinfo2.fordblks)} − keepcost ${n(s.mallinfo2.keepcost)}) / arena ${n(s.mallinfo2.arena)})`,
  ];
  if (s.latencyNs) {
    const l = s.latencyNs;
    lines.push(`op latency      p50 < ${n(l.p50)} ns, p90 < ${n(l.p90)} ns, p99 < ${n(l.p99)} ns, max < ${n(l.max)} ns`);
  }
  lines.push("malloc_stats:");
  for (const line of s.mallocStats.replace(/\n$/, "").split("\n")) lines.push(`  ${line}`);
  return lines.join("\n") + "\n";
}
