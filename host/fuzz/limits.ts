// Resource exhaustion: a sequence may run its process against a wall, where Linux refuses memory
// (malloc returns 0 with ENOMEM and the process lives on) or kills the process (the OOM killer).
// Each kind sets the process up at boot (the twin alike); the executor then lets any request fail
// with ENOMEM, checks after each refusal that the limit held and that /proc/self/status still adds
// up with /proc/self/maps, and ends the sequence without a finding when the OOM killer strikes in a
// kind that invites it. `--exhaust mix` (the adversarial profile's default) gives each sequence a
// kind in turn.

import type { ProcessOptions } from "../options.js";

const MiB = 1024 * 1024;

export const EXHAUST_KINDS = ["none", "as", "data", "commit", "oom", "space"] as const;
export type Exhaust = (typeof EXHAUST_KINDS)[number];
export type ExhaustSetting = Exhaust | "mix";

interface Wall {
  /** Process options (the same for the twin). */
  options: Pick<ProcessOptions, "rlimits" | "overcommit" | "ramBytes" | "swapBytes">;
  /** The generator's cap on the bytes it keeps requested (null: its default). */
  requestCap: number | null;
  /** The OOM killer may end the sequence. */
  oomKills: boolean;
}

const WALLS: Record<Exhaust, Wall> = {
  none: { options: {}, requestCap: null, oomKills: false },
  // the address space (VmSize) of a fresh process is a few MiB: the wall is met by the heap and mmaps
  as: { options: { rlimits: { RLIMIT_AS: { cur: 192 * MiB, max: 192 * MiB } } }, requestCap: null, oomKills: false },
  // brk and private writable mappings count in VmData
  data: { options: { rlimits: { RLIMIT_DATA: { cur: 48 * MiB, max: 48 * MiB } } }, requestCap: null, oomKills: false },
  // strict accounting: CommitLimit = swap + RAM × 50 % = 128 MiB
  commit: { options: { overcommit: 2, ramBytes: 256 * MiB, swapBytes: 0 }, requestCap: null, oomKills: false },
  // every mapping granted; what is touched beyond the RAM gets the process killed
  oom: { options: { overcommit: 1, ramBytes: 96 * MiB, swapBytes: 0 }, requestCap: null, oomKills: true },
  // no cap on what the generator keeps: mmaps fill the 4 GiB address space (a smaller RAM keeps the
  // host's memory in bounds when M_PERTURB writes whole blocks)
  space: { options: { ramBytes: 512 * MiB, swapBytes: 0 }, requestCap: 4096 * MiB, oomKills: true },
};

export function wallOf(kind: Exhaust): Wall {
  return WALLS[kind];
}

/** The kind sequence `index` runs with. */
export function exhaustFor(setting: ExhaustSetting, index: number): Exhaust {
  return setting === "mix" ? EXHAUST_KINDS[index % EXHAUST_KINDS.length] : (setting ?? "none");
}
