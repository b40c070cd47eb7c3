// Files of the repository, found from this module (works from bench/ under vitest and from
// dist/bench/ after tsc).

import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("bench: cannot find the repository root");
    dir = up;
  }
  return dir;
}

const root = findRoot();

export function repoPath(...parts: string[]): string {
  return join(root, ...parts);
}
