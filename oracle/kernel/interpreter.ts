// The scenario language of oracle/kernel/scenarios/ (see README.md next to this file), run on the
// emulated kernel. interp.c runs the same text on the real kernel; both print the same lines, so
// a fixture of the real kernel's output compares line by line with this one's.
//
// Addresses print relative to the nearest base (BRK0, the initial break, or a mapping the
// scenario named), maps lines only where they meet a range the scenario created, status as
// deltas since the scenario started: nothing depends on ASLR or on what else the process holds.
//
// Values are machine words, as in interp.c: 32-bit on i386, 64-bit on x86_64 (kept exact as
// bigints while an expression is evaluated; a word of 2^63 or more is passed to the kernel as
// its negative two's complement, which the kernel's 64-bit `unsigned long` reads back).

import type { Syscalls } from "../../host/process.js";

const PAGE = 4096;
const CEILING_PAGES = 16;
const LOW_ADDRESSES = 0x100000;
const FAR_DISTANCE = 0x10000000;

/** What a scenario needs from an emulated process (a Process from createProcess, or a Kernel). */
export interface KernelTarget {
  sys: Syscalls;
  maps(): string;
  status(): { VmSize: number; VmLck: number; VmRSS: number; VmData: number };
  read(addr: number, length: number): Uint8Array;
  write(addr: number, bytes: ArrayLike<number>): void;
  fill(addr: number, byte: number, length: number): void;
}

export interface Scenario {
  name: string;
  privileged: boolean;
  /** The command lines, comments and blank lines removed, tokens joined by one space. */
  commands: string[];
}

/** Splits a scenario file into scenarios ("scenario NAME" starts one; "privileged yes|no"). */
export function parseScenarios(text: string): Scenario[] {
  const scenarios: Scenario[] = [];
  let current: Scenario | null = null;
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    if (raw.startsWith("scenario ")) {
      current = { name: raw.slice(9).trim(), privileged: false, commands: [] };
      scenarios.push(current);
      continue;
    }
    if (!current || line === "") continue;
    const tokens = line.split(/[ \t\r]+/);
    if (tokens[0] === "privileged") {
      current.privileged = tokens[1] === "yes";
      continue;
    }
    current.commands.push(tokens.slice(0, 12).join(" "));
  }
  return scenarios;
}

/** A seed per scenario name (FNV-1a): runs are reproducible, and scenarios do not share a layout. */
export function scenarioSeed(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Splits an oracle output (a fixture) into the lines of each scenario, by name. */
export function parseOutput(text: string): Map<string, string[]> {
  const result = new Map<string, string[]>();
  let lines: string[] | null = null;
  for (const line of text.split("\n")) {
    if (line.startsWith("== ")) {
      lines = [];
      result.set(line.slice(3), lines);
    } else if (lines && line !== "") {
      lines.push(line);
    }
  }
  return result;
}

const SYMBOLS: Record<string, number> = {
  PROT_NONE: 0, PROT_READ: 1, PROT_WRITE: 2, PROT_EXEC: 4, PROT_SEM: 8,
  PROT_GROWSDOWN: 0x01000000, PROT_GROWSUP: 0x02000000,
  NONE: 0, R: 1, W: 2, X: 4, RW: 3, RX: 5, WX: 6, RWX: 7,
  MAP_SHARED: 1, MAP_PRIVATE: 2, MAP_SHARED_VALIDATE: 3, MAP_FIXED: 0x10, MAP_ANONYMOUS: 0x20,
  MAP_ANON: 0x20, MAP_32BIT: 0x40, MAP_GROWSDOWN: 0x100, MAP_DENYWRITE: 0x800,
  MAP_EXECUTABLE: 0x1000, MAP_LOCKED: 0x2000, MAP_NORESERVE: 0x4000, MAP_POPULATE: 0x8000,
  MAP_NONBLOCK: 0x10000, MAP_STACK: 0x20000, MAP_HUGETLB: 0x40000, MAP_SYNC: 0x80000,
  MAP_FIXED_NOREPLACE: 0x100000, MAP_UNINITIALIZED: 0x4000000,
  SHARED: 1, PRIVATE: 2, SHARED_VALIDATE: 3, FIXED: 0x10, ANON: 0x20, GROWSDOWN: 0x100,
  LOCKED: 0x2000, NORESERVE: 0x4000, POPULATE: 0x8000, STACK: 0x20000, HUGETLB: 0x40000,
  NOREPLACE: 0x100000,
  MREMAP_MAYMOVE: 1, MREMAP_FIXED: 2, MREMAP_DONTUNMAP: 4, MAYMOVE: 1, DONTUNMAP: 4,
  MADV_NORMAL: 0, MADV_RANDOM: 1, MADV_SEQUENTIAL: 2, MADV_WILLNEED: 3, MADV_DONTNEED: 4,
  MADV_FREE: 8, MADV_REMOVE: 9, MADV_DONTFORK: 10, MADV_DOFORK: 11, MADV_MERGEABLE: 12,
  MADV_UNMERGEABLE: 13, MADV_HUGEPAGE: 14, MADV_NOHUGEPAGE: 15, MADV_DONTDUMP: 16,
  MADV_DODUMP: 17, MADV_WIPEONFORK: 18, MADV_KEEPONFORK: 19, MADV_COLD: 20, MADV_PAGEOUT: 21,
  MADV_POPULATE_READ: 22, MADV_POPULATE_WRITE: 23, MADV_DONTNEED_LOCKED: 24,
  MCL_CURRENT: 1, MCL_FUTURE: 2, MCL_ONFAULT: 4, MLOCK_ONFAULT: 1,
  RLIMIT_DATA: 2, RLIMIT_STACK: 3, RLIMIT_MEMLOCK: 8, RLIMIT_AS: 9,
  DATA: 2, STACK_LIMIT: 3, MEMLOCK: 8, AS: 9,
};

const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM", 2: "ENOENT", 4: "EINTR", 9: "EBADF", 11: "EAGAIN", 12: "ENOMEM", 13: "EACCES",
  14: "EFAULT", 16: "EBUSY", 17: "EEXIST", 19: "ENODEV", 22: "EINVAL", 27: "EFBIG", 38: "ENOSYS",
  75: "EOVERFLOW", 95: "EOPNOTSUPP",
};

const errnoName = (e: number) => ERRNO_NAMES[e] ?? `E${e}`;

class ParseError extends Error {}

interface Name {
  name: string;
  value: number;
  base: boolean;
  /** The exact word (on x86_64 value is its nearest double). */
  exact: bigint;
}

export interface RunOptions {
  /** The word size of the process the scenario runs in (default "i386": 32-bit words). */
  arch?: "i386" | "x86_64";
}

const WORD64 = 2n ** 64n;
const HALF64 = 2n ** 63n;
/** A 64-bit word as the number the kernel takes: below 2^63 itself, else its negative two's complement. */
const wordArg = (w: bigint): number => Number(w >= HALF64 ? w - WORD64 : w);
/** A number the kernel returned or took, as the unsigned word interp.c holds. */
const unsigned64 = (v: number): number => (v < 0 ? v + 2 ** 64 : v);

/** Runs one scenario on an emulated process; returns the lines interp.c prints for it. */
export function runScenario(scenario: Scenario, target: KernelTarget, options: RunOptions = {}): string[] {
  const wide = options.arch === "x86_64";
  /** A value as interp.c's `word` holds it (u32 on i386; on x86_64 results and addresses are below 2^47). */
  const word = wide ? unsigned64 : (v: number) => v >>> 0;
  const wordSize = wide ? WORD64 : 2n ** 32n;
  const libraryFloor = wide ? 0x700000000000 : 0x80000000;
  const lines: string[] = [];
  const names: Name[] = [];
  const ranges: Array<[number, number]> = [];

  const bind = (name: string, value: number, base: boolean, exact = BigInt(word(value))) => {
    const i = names.findIndex((n) => n.name === name);
    if (i >= 0) names.splice(i, 1);
    if (names.length < 128) names.push({ name, value: word(value), base, exact });
  };

  /** An atom as the exact word interp.c computes (numbers parsed as strtoull does). */
  const atom = (word: string): bigint => {
    if (word === "") throw new ParseError("bad expression");
    if (/^[0-9]/.test(word)) {
      const m = /^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)([pkmg]?)$/.exec(word);
      if (!m) throw new ParseError(`bad number ${word}`);
      const hex = /^0[xX]/.test(m[1]);
      if (hex && m[2] !== "") throw new ParseError(`bad number ${word}`);
      const v = hex ? BigInt(m[1]) : /^0[0-7]+$/.test(m[1]) ? BigInt(`0o${m[1].slice(1)}`) : BigInt(m[1]);
      return (v * { "": 1n, p: BigInt(PAGE), k: 1024n, m: 1n << 20n, g: 1n << 30n }[m[2]]!) % wordSize;
    }
    const symbol = SYMBOLS[word];
    if (symbol !== undefined) return BigInt(symbol);
    const bound = names.find((n) => n.name === word);
    if (bound === undefined) throw new ParseError(`unknown name ${word}`);
    return bound.exact;
  };

  /** An expression: atoms joined by + - |, left to right, in word arithmetic. */
  const evaluateWord = (text: string): bigint => {
    let s = text;
    let acc = 0n;
    let op = "+";
    if (s.startsWith("-") || s.startsWith("+")) {
      op = s[0];
      s = s.slice(1);
    }
    for (;;) {
      const m = /^[0-9A-Za-z_]*/.exec(s)![0];
      const v = atom(m);
      acc = (((op === "+" ? acc + v : op === "-" ? acc - v : acc | v) % wordSize) + wordSize) % wordSize;
      s = s.slice(m.length);
      if (s === "") break;
      if (!"+-|".includes(s[0])) throw new ParseError(`bad operator ${s[0]}`);
      op = s[0];
      s = s.slice(1);
    }
    return acc;
  };

  /** An expression as the number the kernel is called with. */
  const evaluate = (text: string): number => (wide ? wordArg(evaluateWord(text)) : Number(evaluateWord(text)));

  const relTo = (v: number, base: number, name: string): string => {
    const d = v - base;
    const ad = Math.abs(d);
    if (d === 0) return name;
    if (ad % PAGE === 0) return `${name}${d < 0 ? "-" : "+"}${ad / PAGE}p`;
    return `${name}${d < 0 ? "-" : "+"}0x${ad.toString(16)}`;
  };

  const rel = (v: number): string => {
    let best: Name | null = null;
    let bestDistance = Infinity;
    for (const n of names) {
      if (!n.base) continue;
      const d = Math.abs(v - n.value);
      if (d < bestDistance) {
        bestDistance = d;
        best = n;
      }
    }
    // low addresses come only from hints and MAP_FIXED: absolute is meaningful there
    if (!best || bestDistance > FAR_DISTANCE) return v < LOW_ADDRESSES ? `0x${v.toString(16)}` : "far";
    return relTo(v, best.value, best.name);
  };

  const track = (start: number, len: number) => {
    const end = start + Math.ceil(len / PAGE) * PAGE;
    if (ranges.length < 4096 && end > start) ranges.push([start, end]);
  };
  let brk0 = 0;
  let brkCur = 0;
  let brkMax = 0;
  const tracked = (start: number, end: number) =>
    (brkMax > brk0 && start < brkMax && end > Math.floor(brk0 / PAGE) * PAGE) ||
    ranges.some(([s, e]) => start < e && end > s);

  const isError = (r: number) => r < 0 && r >= -4095;
  const intResult = (r: number) => (isError(r) ? errnoName(-r) : String(r));
  const addrResult = (r: number, want: number, wantName: string) => {
    if (isError(r)) return errnoName(-r);
    if (want !== 0 && word(r) === word(want)) return `=${wantName}`;
    return rel(word(r));
  };

  const rle = (bytes: Uint8Array, digits: boolean) => {
    const parts: string[] = [];
    for (let i = 0; i < bytes.length; ) {
      let j = i;
      while (j < bytes.length && bytes[j] === bytes[i]) j++;
      parts.push(`${digits ? bytes[i] : bytes[i].toString(16).padStart(2, "0")}*${j - i}`);
      i = j;
    }
    return parts.join(" ");
  };

  const faultText = (err: unknown): string => {
    const e = err as { name?: string; code?: string; addr?: number; signal?: string };
    if (e && e.name === "SegmentationFault") return `SIGSEGV ${e.code} ${rel(word(e.addr ?? 0))}`;
    throw err;
  };

  const status = () => {
    const s = target.status();
    return { size: s.VmSize, lck: s.VmLck, rss: s.VmRSS, data: s.VmData };
  };
  const signed = (n: number) => (n >= 0 ? `+${n}` : String(n));

  const { sys } = target;
  // As interp.c does: fill the holes between the mappings at the top of the mmap area (libraries,
  // vDSO; under 64 MiB each, stack aside) with PROT_NONE, so the scenario's first mapping goes
  // below them all; then the same PROT_NONE ceiling above the scenario's mappings.
  fillLibraryHoles(target, libraryFloor);
  sys.mmap(0, CEILING_PAGES * PAGE, 0, 0x02 | 0x20 | 0x4000, -1, 0);
  brk0 = brkCur = brkMax = word(sys.brk(0));
  bind("BRK0", brk0, true);
  const status0 = status();
  bind("VMSIZE0", status0.size * 1024, false);
  bind("VMDATA0", status0.data * 1024, false);

  const printMaps = () => {
    lines.push("maps =>");
    for (const line of target.maps().split("\n")) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) (\S+) (\S+) (\S+)\s*(.*)$/.exec(line);
      if (!m) continue;
      const start = parseInt(m[1], 16);
      const end = parseInt(m[2], 16);
      if (!tracked(start, end)) continue;
      const name = m[7].trim().split(/\s+/)[0] ?? "";
      lines.push(`  ${rel(start)} ${(end - start) / PAGE}p ${m[3]}${name ? " " + name : ""}`);
    }
  };

  const run = (tok: string[]): string => {
    const cmd = tok[0];
    const need = (min: number, max: number) => {
      if (tok.length < min || tok.length > max) throw new ParseError("wrong argument count");
    };
    const args = (from: number) => tok.slice(from).map(evaluate);
    switch (cmd) {
      case "mmap": {
        need(6, 8);
        const a = args(2);
        const fd = tok.length > 6 ? a[4] | 0 : -1;
        const off = tok.length > 7 ? a[5] : 0;
        const r = sys.mmap(a[0], a[1], a[2], a[3], fd, off);
        const text = addrResult(r, a[0], "addr");
        if (!isError(r)) {
          track(word(r), word(a[1]));
          if (tok[1] !== "-") bind(tok[1], r, true);
        }
        return text;
      }
      case "mremap": {
        need(6, 7);
        const a = args(2);
        const r = tok.length > 6 ? sys.mremap(a[0], a[1], a[2], a[3], a[4]) : sys.mremap(a[0], a[1], a[2], a[3]);
        const text = addrResult(r, a[3] & 2 ? (a[4] ?? 0) : 0, "new");
        if (!isError(r)) {
          track(word(r), word(a[2]));
          if (tok[1] !== "-") bind(tok[1], r, true);
        }
        return text;
      }
      case "brk": {
        need(2, 2);
        let addr = evaluate(tok[1]);
        if (tok[1].startsWith("+") || tok[1].startsWith("-")) addr = wide ? wordArg((evaluateWord(tok[1]) + BigInt(brkCur)) % WORD64) : (addr + brkCur) >>> 0;
        brkCur = word(sys.brk(addr));
        if (brkCur > brkMax) brkMax = brkCur;
        return relTo(brkCur, brk0, "BRK0");
      }
      case "let":
        need(3, 3);
        {
          const exact = evaluateWord(tok[2]);
          bind(tok[1], Number(exact), false, exact);
        }
        return "ok";
      case "munmap":
      case "mlock":
      case "munlock": {
        need(3, 3);
        const [addr, len] = args(1);
        return intResult(cmd === "munmap" ? sys.munmap(addr, len) : cmd === "mlock" ? sys.mlock(addr, len) : sys.munlock(addr, len));
      }
      case "mprotect":
      case "madvise":
      case "mlock2": {
        need(4, 4);
        const [addr, len, x] = args(1);
        return intResult(
          cmd === "mprotect" ? sys.mprotect(addr, len, x) : cmd === "madvise" ? sys.madvise(addr, len, x) : sys.mlock2(addr, len, x),
        );
      }
      case "mlockall":
        need(2, 2);
        return intResult(sys.mlockall(evaluate(tok[1])));
      case "munlockall":
        need(1, 1);
        return intResult(sys.munlockall());
      case "mincore": {
        need(3, 3);
        const [addr, len] = args(1);
        const pages = Math.ceil(len / PAGE);
        const vec = new Uint8Array(pages);
        const r = sys.mincore(addr, len, vec);
        if (r < 0) return intResult(r);
        return pages <= 64 ? Array.from(vec, String).join("") : rle(vec, true);
      }
      case "setrlimit": {
        need(4, 4);
        const resource = evaluate(tok[1]);
        const cur = tok[2] === "INF" ? Infinity : evaluate(tok[2]);
        const max = tok[3] === "INF" ? Infinity : evaluate(tok[3]);
        return intResult(sys.setrlimit(resource, { cur, max }));
      }
      case "getrlimit": {
        need(2, 2);
        const limit = sys.getrlimit(evaluate(tok[1])) as { cur: number; max: number } | number;
        // a bad resource: −errno, as a number or in both fields
        if (typeof limit === "number") return intResult(limit);
        if (isError(limit.cur)) return intResult(limit.cur);
        const { cur, max } = limit;
        const show = (v: number) => (v === Infinity ? "INF" : String(v));
        return `${show(cur)} ${show(max)}`;
      }
      case "touch":
      case "rtouch":
      case "peek":
      case "fill": {
        need(cmd === "fill" ? 4 : 3, cmd === "fill" ? 4 : 3);
        const [addr, len, byte] = args(1);
        if (cmd === "peek" && len > 1 << 20) throw new ParseError("peek too long");
        try {
          if (cmd === "touch") for (let off = 0; off < len; off += PAGE) target.write(addr + off, [0x5a]);
          else if (cmd === "rtouch") for (let off = 0; off < len; off += PAGE) target.read(addr + off, 1);
          else if (cmd === "fill") target.fill(addr, byte & 0xff, len);
          else return rle(target.read(addr, len), false);
        } catch (err) {
          return faultText(err);
        }
        return "ok";
      }
      case "status": {
        need(1, 1);
        const s = status();
        return (
          `VmSize${signed(s.size - status0.size)} VmLck${signed(s.lck - status0.lck)} ` +
          `VmRSS${signed(s.rss - status0.rss)} VmData${signed(s.data - status0.data)}`
        );
      }
      default:
        return `!! unknown command ${cmd}`;
    }
  };

  for (const command of scenario.commands) {
    const tok = command.split(" ");
    if (tok[0] === "maps") {
      printMaps();
      continue;
    }
    let result: string;
    try {
      result = run(tok);
    } catch (err) {
      if (err instanceof ParseError) result = `!! ${err.message}`;
      else result = `!! threw ${(err as Error).name}: ${(err as Error).message}`;
    }
    lines.push(`${command} => ${result}`);
  }
  return lines;
}

/** interp.c's fill_library_holes, through the same public calls (libraries start at `floor`). */
function fillLibraryHoles(target: KernelTarget, floor: number): void {
  const ranges: [number, number][] = [];
  for (const line of target.maps().split("\n")) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (!m || line.endsWith("[stack]")) continue;
    const start = parseInt(m[1]!, 16);
    if (start >= floor) ranges.push([start, parseInt(m[2]!, 16)]);
  }
  for (let i = 0; i + 1 < ranges.length; i++) {
    const gap = ranges[i + 1]![0] - ranges[i]![1];
    // PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE
    if (gap > 0 && gap < 64 * 2 ** 20) target.sys.mmap(ranges[i]![1], gap, 0, 0x02 | 0x20 | 0x4000 | 0x100000, -1, 0);
  }
}
