// The README carries the attack table of docs/attacks.md (every heap-corruption case with its
// outcome on the real glibc and here) in a collapsible section. docs/attacks.md's copy is the
// generated one (test/allocator/integrity.test.ts rewrites it); the README's must be the same
// text, or a reader of the README is shown outcomes that are no longer true.
//
//   UPDATE_README=1 npx vitest run test/readme-attacks.test.ts    copies the table into the README
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");
const readmePath = join(root, "README.md");
const attacksPath = join(root, "docs", "attacks.md");

/** The text between the line holding `begin` and the line holding `end` (both excluded). */
function between(text: string, begin: string, end: string, where: string): { from: number; to: number; body: string } {
  const b = text.indexOf(begin);
  expect(b, `${where} has the marker ${begin}`).toBeGreaterThanOrEqual(0);
  const from = text.indexOf("\n", b) + 1;
  const e = text.indexOf(end, from);
  expect(e, `${where} has the marker ${end} after ${begin}`).toBeGreaterThanOrEqual(0);
  const to = text.lastIndexOf("\n", e) + 1;
  return { from, to, body: text.slice(from, to) };
}

describe("the README's attack table", () => {
  it("is docs/attacks.md's generated table, word for word", () => {
    const attacks = readFileSync(attacksPath, "utf8");
    const table = between(attacks, "<!-- attacks-table:begin", "<!-- attacks-table:end -->", "docs/attacks.md").body;
    expect(table.split("\n").filter((l) => l.startsWith("| `")).length, "cases in docs/attacks.md").toBeGreaterThan(50);
    let readme = readFileSync(readmePath, "utf8");
    const copy = between(readme, "<!-- attacks-table:", "<!-- /attacks-table -->", "README.md");
    if (process.env.UPDATE_README === "1" && copy.body !== table) {
      readme = readme.slice(0, copy.from) + table + readme.slice(copy.to);
      writeFileSync(readmePath, readme);
      return;
    }
    expect(copy.body, "README.md's table differs from docs/attacks.md's: UPDATE_README=1 npx vitest run test/readme-attacks.test.ts").toBe(table);
    // It sits in a collapsible section.
    const open = readme.lastIndexOf("<details>", copy.from);
    expect(open).toBeGreaterThanOrEqual(0);
    expect(readme.indexOf("</details>", copy.to)).toBeGreaterThan(copy.to);
    expect(readme.indexOf("</details>", open)).toBeGreaterThan(copy.to);
  });

  it("says how many cases there are, as the table counts them", () => {
    const readme = readFileSync(readmePath, "utf8");
    const copy = between(readme, "<!-- attacks-table:", "<!-- /attacks-table -->", "README.md").body;
    const cases = copy.split("\n").filter((l) => l.startsWith("| `")).length;
    const claims = [...readme.matchAll(/(\d+) heap-corruption cases/g)].map((m) => Number(m[1]));
    expect(claims.length).toBeGreaterThan(0);
    for (const n of claims) expect(n, "the README's count of heap-corruption cases").toBe(cases);
  });
});
