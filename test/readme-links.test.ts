// The README links only to files of the repository (it is read on a registry page, in a clone and
// offline: a link out of the repository can rot or move), and every link lands: the file exists
// and, for `file#anchor` or `#anchor`, the heading exists, by the anchors GitHub makes.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");

/** The text without its fenced code blocks. */
function unfenced(markdown: string): string {
  return markdown.replace(/^```[^\n]*\n[\s\S]*?^```\s*$/gm, "");
}

/** The text without code blocks and inline code spans (no links live there). */
function prose(markdown: string): string {
  return unfenced(markdown).replace(/`[^`\n]*`/g, "");
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of unfenced(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const text = m[1].replace(/`/g, "").replace(/\[([^\]]*)\]\([^)]*\)/g, "$1");
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Link targets of a markdown text: [text](target), ![alt](target), href="target", src="target". */
function links(markdown: string): string[] {
  const text = prose(markdown);
  const md = [...text.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]);
  const html = [...text.matchAll(/\b(?:href|src)="([^"]+)"/g)].map((m) => m[1]);
  return [...md, ...html];
}

describe("the README's links", () => {
  const file = join(root, "README.md");
  const readme = readFileSync(file, "utf8");
  const targets = links(readme);
  // The one exception: the explorer's own page, which `npm run web` serves on the reader's machine.
  const EXPLORER = "http://127.0.0.1:5173/";
  const local = (t: string) => t.startsWith(EXPLORER);

  it("are there to check", () => {
    expect(targets.length).toBeGreaterThan(10);
  });

  it("point only into the repository", () => {
    const outside = targets.filter((t) => !local(t) && (/^[a-z][a-z0-9+.-]*:/i.test(t) || t.startsWith("//") || t.startsWith("/")));
    expect(outside).toEqual([]);
  });

  it("land on a file that exists, and on a heading that exists", () => {
    const broken: string[] = [];
    for (const target of targets) {
      if (local(target)) {
        // the explorer's link names a scenario the page has
        const scenario = new URL(target).searchParams.get("scenario");
        const known = readFileSync(join(root, "web/src/scenarios.ts"), "utf8");
        if (scenario === null || !known.includes(`"${scenario}"`)) broken.push(`${target}: no scenario ${scenario} in the explorer`);
        continue;
      }
      const [path, anchor] = target.split("#", 2);
      const dest = path === "" ? file : join(dirname(file), decodeURIComponent(path));
      if (!existsSync(dest)) {
        broken.push(`${target}: no file ${relative(root, dest)}`);
        continue;
      }
      if (anchor !== undefined && !anchors(readFileSync(dest, "utf8")).has(anchor)) {
        broken.push(`${target}: no heading with that anchor in ${relative(root, dest)}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
