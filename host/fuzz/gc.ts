// A full garbage collection on demand, so that the campaign's RSS figures measure what is live:
// a finished sequence's process (its Wasm memory, up to 4 GiB reserved, the pages it touched
// resident) is garbage until V8 collects it, which makes an RSS sample taken just then say more
// about the collector's timing than about a leak. V8's gc() is exposed on first use (worker
// threads take no V8 flags of their own, so this is done from inside each thread).

import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let gc: (() => void) | null | undefined;

export function collectGarbage(): void {
  if (gc === undefined) {
    try {
      setFlagsFromString("--expose-gc");
      gc = runInNewContext("gc") as () => void;
    } catch {
      gc = null;
    }
  }
  gc?.();
}
