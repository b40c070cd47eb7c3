// The main acceptance test: real allocation traces replayed here give, op for op, the same
// placement, chunk sizes, checkpoints and final statistics as the real i386 glibc 2.36.
// The traces (NAME.ops.gz, NAME.replay32.txt.gz) are read from $PTMALLOC_TRACES, or from
// test/fixtures/traces; the suite is skipped when neither holds them.

import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { makeProcess } from "./harness.js";
import { replayOps } from "./replay-ops.js";

const here = dirname(fileURLToPath(import.meta.url));
const candidates = [process.env.PTMALLOC_TRACES, join(here, "..", "fixtures", "traces"), join(here, "..", "fixtures", "alloc", "traces")];
const dir = candidates.find((d) => d !== undefined && existsSync(join(d, "python3.ops.gz")));

describe.skipIf(dir === undefined)("real traces replayed against glibc 2.36's own output", () => {
  for (const name of ["python3", "sqlite3", "cmake", "git"]) {
    it(`${name}: every block, checkpoint and the final statistics match`, async () => {
      const ops = gunzipSync(readFileSync(join(dir!, `${name}.ops.gz`))).toString();
      const expected = gunzipSync(readFileSync(join(dir!, `${name}.replay32.txt.gz`)))
        .toString()
        .split("\n")
        .filter((l) => l !== "" && !l.startsWith("# replay"));
      const got = replayOps(await makeProcess({ debug: false }), ops);
      const firstDiff = expected.findIndex((l, i) => got[i] !== l);
      expect(firstDiff === -1 ? null : { line: firstDiff, want: expected[firstDiff], got: got[firstDiff] }).toBeNull();
      expect(got.length).toBe(expected.length);
    });
  }
});
