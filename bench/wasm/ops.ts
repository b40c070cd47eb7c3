// The op encoding the in-Wasm replay loops of the benchmark modules read (bench/ops-program.ts
// writes it): word 0's low byte is the kind, TOUCH asks for the block's first and last byte written.

export const OP_MALLOC = 0;
export const OP_CALLOC = 1;
export const OP_MEMALIGN = 2;
export const OP_REALLOC = 3;
export const OP_FREE = 4;
export const TOUCH = 0x100;
