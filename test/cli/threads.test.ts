// Threaded op lists (T and E lines) on the command line: replay prints the threads oracle's format
// byte for byte as oracle/threads/replay-threads.c does (the file's name as the scenario, a
// checkpoint every op by default, --nprocs as get_nprocs()), compares with --expect, summarizes;
// maps shows the thread stacks; a death in a thread ends the command as the process's death.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, root, run, scratch } from "./run.js";

beforeAll(ensureBuilt);

const threadScenarios = join(root, "oracle/threads/scenarios");
const fixtures = join(root, "test/fixtures/threads");
const scenario = (name: string) => join(threadScenarios, `${name}.ops`);
const fixture = (name: string) => readFileSync(join(fixtures, `${name}.txt`), "utf8");

describe("replay of a threaded op list prints what the threads oracle printed", () => {
  it("a scenario, byte for byte: its name from the file, a checkpoint every op by default", async () => {
    const r = await run(["replay", scenario("exit-reuse")]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(fixture("exit-reuse"));
  });

  it("--nprocs sets get_nprocs(), --checkpoint the interval; --expect compares", async () => {
    const r = await run(["replay", scenario("random-mix-b"), "--nprocs", "1", "--checkpoint", "25", "--expect", join(fixtures, "random-mix-b.txt")]);
    const ops = Number(/# end ops=(\d+)/.exec(fixture("random-mix-b"))![1]);
    expect(r.errLines).toEqual([`identical to ${join(fixtures, "random-mix-b.txt")} (${ops} ops, replay of ${scenario("random-mix-b")})`]);
    expect(r.code).toBe(0);
    const nprocs4 = await run(["replay", scenario("limit-nprocs4"), "--nprocs", "4", "--expect", join(fixtures, "limit-nprocs4.txt")]);
    expect(nprocs4.code).toBe(0);
    const wrong = await run(["replay", scenario("limit-nprocs4"), "--expect", join(fixtures, "limit-nprocs4.txt")]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/differs from .*limit-nprocs4\.txt at line 1: expected "# replay-threads scenario=limit-nprocs4 glibc=2\.36 sizeof_size_t=4 nprocs=4 /);
  });

  it("from standard input, gzipped, with --scenario naming it", async () => {
    const r = await run(["replay", "-", "--scenario", "one-thread"], { stdin: gzipSync(readFileSync(scenario("one-thread"))) });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(fixture("one-thread"));
  });

  it("--json summarizes a threaded replay too", async () => {
    const r = await run(["replay", scenario("stack-cache"), "--json"]);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(s.ops).toBe(Number(/# end ops=(\d+)/.exec(fixture("stack-cache"))![1]));
  });

  it("more live threads than the address space has room for stacks: pthread_create's EAGAIN, exit status 1", async () => {
    const text = Array.from({ length: 600 }, (_, i) => `T ${i + 1}`).join("\n") + "\n";
    const r = await run(["replay", "-", "--checkpoint", "0"], { stdin: text });
    expect(r.code).toBe(1);
    expect(r.errLines).toHaveLength(1);
    expect(r.stderr).toMatch(/^ptmalloc-wasm: <stdin>: pthread_create: EAGAIN \(mmap of the 8392704-byte stack failed with errno 12\), creating a thread after \d+ ops\n$/);
  });

  it("--nprocs must be a CPU count", async () => {
    const r = await run(["replay", scenario("one-thread"), "--nprocs", "0"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--nprocs/);
  });
});

describe("a thread line far into a long list", () => {
  // 1.2 MiB of single-thread ops (more than the first batch), then a thread
  const lines: string[] = [];
  let bytes = 0; // the text's length so far (joining the lines at every step would take minutes)
  for (let id = 0; bytes < 1.2 * 1024 * 1024; id++) {
    const m = `m ${id} ${16 + (id % 50)}`;
    const f = `f ${id}`;
    lines.push(m, f);
    bytes += m.length + f.length + 2;
  }
  const ids = lines.length / 2;
  const text = `${lines.join("\n")}\nT 1\nm ${ids} 100\nE 1\n`;
  const files = scratch("threads-cli");

  it("a file is replayed again from the start in the threads format", async () => {
    const path = files.file("late.ops", text);
    const r = await run(["replay", path, "--checkpoint", "0"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = r.stdout.split("\n");
    expect(out[0]).toMatch(/^# replay-threads scenario=late glibc=2\.36 .* ids=/);
    expect(out[1]).toMatch(/^0 0 0 \d+ 32$/);
    expect(out).toContain("# thread 1 created, stack new");
    expect(out).toContain(`${ids} 1 0 1552 112`);
    expect(out).toContain("# thread 1 exited and joined");
  });

  it("standard input cannot be read again: the line is named, with what to do", async () => {
    const r = await run(["replay", "-", "--checkpoint", "0"], { stdin: text });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`<stdin>:${lines.length + 1}: a thread line, but the replay output began in the single-thread format`));
  });

  it("maps and stats take it as it comes (no output format to keep)", async () => {
    const r = await run(["stats", "-"], { stdin: text });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Arena 0:\n[\s\S]*Arena 1:\n/);
  });
});

describe("threads in the process's state", () => {
  it("maps --at shows a live thread's stack: 8 MiB read-write above a PROT_NONE guard page", async () => {
    const r = await run(["maps", "-", "--at", "2"], { stdin: "m 0 10\nT 1\nm 1 10\n" });
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    const guard = lines.findIndex((l) => / ---p 00000000 00:00 0 *$/.test(l));
    expect(guard).toBeGreaterThan(0);
    const [gs, ge] = lines[guard].slice(0, 17).split("-").map((h) => Number.parseInt(h, 16));
    expect(ge - gs).toBe(4096);
    const [rs, re] = lines[guard + 1].slice(0, 17).split("-").map((h) => Number.parseInt(h, 16));
    expect([rs, re - rs]).toEqual([ge, 8 * 1024 * 1024]);
    expect(lines[guard + 1]).toMatch(/ rw-p 00000000 00:00 0 *$/);
  });
});
