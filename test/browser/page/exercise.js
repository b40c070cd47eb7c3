// What the browser test does with the package, written once: the page runs it on the package
// it loaded (bundled or through an import map), the test runs it in Node on the sources, and
// the two results must be equal. Plain JS so that the page can load it unbundled.

/**
 * @param {typeof import("../../../host/index.js")} api the package's exports
 * @param {(url: string) => Promise<string>} gunzipText fetches a .gz file and returns its text
 */
export async function exercise(api, gunzipText) {
  const { createProcess, formatReplay, parseOps, replay, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } = api;
  const result = { processes: {}, replay: null };
  // The default build, the pure-TS twin and the debug build: the last two are loaded on demand.
  // Then an x86_64 process: 64-bit addresses (its raw bytes found through offsetOf).
  for (const [name, options] of [
    ["wasm", {}],
    ["ts", { allocator: "ts" }],
    ["debug", { debug: true }],
    ["x86_64", { arch: "x86_64" }],
  ]) {
    const proc = await createProcess({ seed: 42, ...options });
    const blocks = [8, 100, 1000, 5000, 200_000].map((size) => proc.malloc(size));
    new Uint8Array(proc.memory.buffer, proc.offsetOf(blocks[1]), 100).fill(7);
    proc.free(blocks[0]);
    proc.free(blocks[3]);
    const again = proc.malloc(16); // from the tcache: where blocks[0] was
    const mapped = proc.sys.mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    proc.fill(mapped, 1, 4096);
    result.processes[name] = {
      arch: proc.arch,
      blocks,
      again,
      mapped,
      maps: proc.maps(),
      mallocStats: proc.malloc_stats(),
      mallinfo2: proc.mallinfo2(),
      vmRss: proc.status().VmRSS,
    };
  }
  // A shipped trace: fetched gzipped, gunzipped, parsed and replayed as the CLI would.
  const text = await gunzipText("fixtures/mixed.ops.gz");
  const list = parseOps(text);
  const checkpointEvery = Number(/^# checkpoint-every: (\d+)$/m.exec(text)?.[1] ?? 1);
  const replayed = replay(await createProcess({ seed: 7 }), list, { checkpointEvery, timings: false });
  result.replay = { ops: replayed.ops, output: formatReplay(replayed) };
  return result;
}
