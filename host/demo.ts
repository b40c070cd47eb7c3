// `npm start`: a short walk through one emulated process — the classic malloc walk-through (the
// same numbers the real glibc 2.36 prints, i386 or with `npm start -- --arch x86_64` x86-64),
// demand paging seen through mincore, the raw brk and mmap calls, and the process's
// /proc/self/maps at the end.

import {
  createProcess,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
  type Process,
} from "./index.js";
import { sizeFieldAt } from "./trace/walkthrough.js";

const tty = typeof process !== "undefined" && process.stdout?.isTTY === true && !process.env.NO_COLOR;
const paint = (code: string) => (s: string) => (tty ? `\x1b[${code}m${s}\x1b[0m` : s);
const bold = paint("1");
const dim = paint("2");
const cyan = paint("36");
const green = paint("32");
const yellow = paint("33");

/** An address as the process prints it: 8 hex digits on i386, as many as it takes (12) on x86_64. */
const hexOf = (wide: boolean) => (n: number) => "0x" + (wide ? n.toString(16) : (n >>> 0).toString(16).padStart(8, "0"));
const out = (s = "") => console.log(s);
const heading = (s: string) => out("\n" + bold(cyan("── " + s + " " + "─".repeat(Math.max(0, 72 - s.length)))));
const indent = (text: string, by = "   ") =>
  text
    .trimEnd()
    .split("\n")
    .map((l) => by + l)
    .join("\n");

function mincoreLine(proc: Process, addr: number, length: number): string {
  const pages = Math.ceil(length / PAGE_SIZE);
  const vec = new Uint8Array(pages);
  const r = proc.sys.mincore(addr, pages * PAGE_SIZE, vec);
  if (r < 0) return `mincore failed: ${r}`;
  const resident = vec.reduce((n, v) => n + (v & 1), 0);
  const picture = Array.from(vec, (v) => (v & 1 ? green("█") : dim("·"))).join("");
  return `${picture}  ${resident} of ${pages} pages resident`;
}

/** Prints the walk-through on stdout, of an i386 process (default) or an x86_64 one. */
export async function runDemo(arch: "i386" | "x86_64" = "i386"): Promise<void> {
  const wide = arch === "x86_64";
  const hex = hexOf(wide);
  const proc = await createProcess({ seed: 42, arch });
  out(bold("ptmalloc-wasm") + ` — glibc 2.36 malloc in WebAssembly, in an emulated ${wide ? "x86-64" : "32-bit"} Linux process (seed 42)`);

  heading(`1. The classic walk-through (what the real ${wide ? "x86-64" : "i386"} glibc prints, byte for byte)`);
  const brk0 = proc.sbrk(0);
  out(`initial program break ${hex(brk0)}`);
  for (const size of [8, 4083, 3, 136168, 1048576]) {
    const p = proc.malloc(size);
    const brk = proc.sbrk(0);
    const sizeField = sizeFieldAt(proc, p);
    const mmapped = (sizeField & 2) !== 0;
    out(
      `\n${bold(`malloc(${size})`)} = ${yellow(hex(p))}` +
        (mmapped
          ? `  ${dim("mmapped chunk, size field")} 0x${sizeField.toString(16)}`
          : `  ${dim("= initial break +")} ${p - brk0}`) +
        `\n   break ${hex(brk)} (${brk - brk0 >= 0 ? "+" : ""}${brk - brk0} bytes)`,
    );
    out(dim(indent(proc.malloc_stats())));
  }

  heading("2. Demand paging: a page is resident only once touched");
  const size = 128 * 1024;
  const block = proc.malloc(size);
  const first = block - (block % PAGE_SIZE);
  const span = Math.ceil((block + size) / PAGE_SIZE) * PAGE_SIZE - first;
  const rss0 = proc.status().VmRSS;
  const blockField = sizeFieldAt(proc, block);
  // i386: the top chunk still holds 128 KiB after the walk-through; x86-64's (4816 bytes in use of
  // 135168, less than the 131088-byte chunk) does not, and a request at the mmap threshold is mmapped.
  const from = blockField & 2 ? "mmapped: the top chunk is too small, and it is at the mmap threshold" : "from the top chunk: it fits, so no mmap";
  out(`malloc(${size}) = ${hex(block)} ${dim(`(${from})`)}, spanning ${span / PAGE_SIZE} pages`);
  out(`   as returned:            ${mincoreLine(proc, first, span)}  ${dim("(glibc wrote only chunk headers)")}`);
  proc.write(block, [1]);
  proc.write(block + size - 1, [1]);
  out(`   first and last byte:    ${mincoreLine(proc, first, span)}`);
  proc.fill(block, 0x5a, size);
  out(`   every byte:             ${mincoreLine(proc, first, span)}`);
  out(`   VmRSS ${rss0} → ${proc.status().VmRSS} kB, minor faults ${proc.faults.minor}`);
  proc.free(block);

  heading("3. The raw system calls");
  const m = proc.sys.mmap(0, 16 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  out(`mmap(NULL, 64 KiB, RW, PRIVATE|ANONYMOUS) = ${hex(m)} ${dim("(top-down, just below the last mapping)")}`);
  proc.fill(m + 5 * PAGE_SIZE, 0xab, 3 * PAGE_SIZE);
  out(`fill pages 5–7:           ${mincoreLine(proc, m, 16 * PAGE_SIZE)}`);
  out(`munmap(page 10, 1 page) = ${proc.sys.munmap(m + 10 * PAGE_SIZE, PAGE_SIZE)} ${dim("(the mapping splits in two)")}`);
  const cur = proc.sys.brk(0);
  out(`brk(0) = ${hex(cur)}; brk(+1 MiB) = ${hex(proc.sys.brk(cur + 1024 * 1024))}`);

  heading("4. /proc/self/maps");
  out(indent(proc.maps()));
  const s = proc.status();
  out(
    `\nVmSize ${s.VmSize} kB · VmRSS ${s.VmRSS} kB · VmData ${s.VmData} kB · VmStk ${s.VmStk} kB · VmPeak ${s.VmPeak} kB`,
  );
}

const invokedDirectly = typeof process !== "undefined" && process.argv[1] !== undefined && /demo\.[jt]s$/.test(process.argv[1]);
if (invokedDirectly) {
  const args = process.argv.slice(2);
  const at = args.findIndex((a) => a === "--arch" || a.startsWith("--arch="));
  const arch = at < 0 ? "i386" : args[at].includes("=") ? args[at].slice(7) : args[at + 1];
  if (arch !== "i386" && arch !== "x86_64") {
    console.error(`usage: npm start [-- --arch i386|x86_64] (got --arch ${arch ?? "with no value"})`);
    process.exit(2);
  }
  runDemo(arch).catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
