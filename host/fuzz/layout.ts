// Where the allocator's tunables sit in its static data (mp_, at the same address in both builds),
// read by the generator to keep layout-dependent requests away from the oracle, and the chunk flag
// the shadow reads.

export { IS_MMAPPED, MINSIZE, NON_MAIN_ARENA } from "../../assembly/config.js";
export { MP, MP_MMAP_THRESHOLD, MP_N_MMAPS_MAX } from "../baseline/layout.js";
