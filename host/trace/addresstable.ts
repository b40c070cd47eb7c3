// Live addresses of an mtrace log → their IDs. A Map keyed by addresses above 2^31 (every
// 64-bit heap address) costs a boxed number per lookup; this open-addressing table (linear
// probing, deletion by backward shift) keeps keys in a Float64Array and costs nothing per call.
// Addresses of up to 52 bits are exact in a double; longer ones live in a Map by their text.

const EMPTY = -1;

export class AddressTable {
  #keys = new Float64Array(1024);
  #ids = new Int32Array(1024).fill(EMPTY);
  #bits = 10;
  #size = 0;
  readonly #long = new Map<string, number>();

  #slot(key: number): number {
    const lo = key >>> 0; // the low 32 bits (ToUint32 is modulo 2^32)
    const hi = (key / 4294967296) >>> 0;
    return Math.imul((lo >>> 4) ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> (32 - this.#bits);
  }

  /** The ID of `key`, or -1. */
  get(key: number | string): number {
    if (typeof key === "string") return this.#long.get(key) ?? EMPTY;
    const mask = this.#ids.length - 1;
    for (let i = this.#slot(key); ; i = (i + 1) & mask) {
      const id = this.#ids[i];
      if (id === EMPTY) return EMPTY;
      if (this.#keys[i] === key) return id;
    }
  }

  /** Sets `key` → `id` (id ≥ 0); returns the ID it had, or -1. */
  set(key: number | string, id: number): number {
    if (typeof key === "string") {
      const old = this.#long.get(key) ?? EMPTY;
      this.#long.set(key, id);
      return old;
    }
    if ((this.#size + 1) * 2 > this.#ids.length) this.#grow();
    const mask = this.#ids.length - 1;
    for (let i = this.#slot(key); ; i = (i + 1) & mask) {
      const old = this.#ids[i];
      if (old === EMPTY) {
        this.#keys[i] = key;
        this.#ids[i] = id;
        this.#size++;
        return EMPTY;
      }
      if (this.#keys[i] === key) {
        this.#ids[i] = id;
        return old;
      }
    }
  }

  /** Removes `key`; returns its ID, or -1 if it was not there. */
  delete(key: number | string): number {
    if (typeof key === "string") {
      const old = this.#long.get(key) ?? EMPTY;
      this.#long.delete(key);
      return old;
    }
    const keys = this.#keys, ids = this.#ids;
    const mask = ids.length - 1;
    let i = this.#slot(key);
    for (; ; i = (i + 1) & mask) {
      if (ids[i] === EMPTY) return EMPTY;
      if (keys[i] === key) break;
    }
    const found = ids[i];
    this.#size--;
    // backward shift: move later entries of the probe run into the hole when their home allows
    let hole = i;
    for (let j = (i + 1) & mask; ids[j] !== EMPTY; j = (j + 1) & mask) {
      const home = this.#slot(keys[j]);
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        keys[hole] = keys[j];
        ids[hole] = ids[j];
        hole = j;
      }
    }
    ids[hole] = EMPTY;
    return found;
  }

  #grow(): void {
    const keys = this.#keys, ids = this.#ids;
    this.#bits++;
    this.#keys = new Float64Array(ids.length * 2);
    this.#ids = new Int32Array(ids.length * 2).fill(EMPTY);
    this.#size = 0;
    for (let i = 0; i < ids.length; i++) if (ids[i] !== EMPTY) this.set(keys[i], ids[i]);
  }
}
