// Threads, one at a time, as assembly/thread.ts. glibc keeps a thread's malloc state in
// thread-local variables: its arena (thread_arena), its tcache, the tcache's shutting-down flag,
// and errno. Here the running thread's are in the static words the hot paths read (mp_'s
// thread_arena, tcache, tcache_shutting_down, and errno); each thread has a TLS block in the
// process's memory, and a switch saves the running thread's state into its block and loads the
// next one's. The main thread's block is static data (MAIN_TLS); another thread's is where the
// host put it (at the top of its stack mapping, where glibc puts the thread's TCB).
//
//  tls ─> +0   thread_arena    +4  tcache    +8  tcache_shutting_down    +12  errno

import { SIZEOF_TLS, TLS_ARENA, TLS_ERRNO, TLS_TCACHE, TLS_TCACHE_SHUTTING_DOWN } from "../../assembly/config.js";
import { arena_thread_detach } from "./arenas.js";
import type { Env } from "./env.js";
import {
  MAIN_TLS, W_CUR_TLS, W_ERRNO, W_MULTIPLE_THREADS, W_TCACHE, W_TCACHE_SHUTTING_DOWN, W_THREAD_ARENA,
} from "./layout.js";
import { tcache_thread_shutdown } from "./tcache.js";

/** The running thread's TLS block (the main thread's until another runs). */
export function current_tls(env: Env): number {
  const cur = env.u32[W_CUR_TLS];
  return cur !== 0 ? cur : MAIN_TLS;
}

/** Make the thread whose TLS block is `tls` the running one (raw loads and stores, as the Wasm build's). */
export function set_thread(env: Env, tls: number): void {
  const cur = current_tls(env);
  if (cur === tls) return;
  const m = env.u32;
  const c = cur >>> 2;
  m[c + TLS_ARENA / 4] = m[W_THREAD_ARENA];
  m[c + TLS_TCACHE / 4] = m[W_TCACHE];
  m[c + TLS_TCACHE_SHUTTING_DOWN / 4] = m[W_TCACHE_SHUTTING_DOWN];
  m[c + TLS_ERRNO / 4] = m[W_ERRNO];
  const t = tls >>> 2;
  m[W_THREAD_ARENA] = m[t + TLS_ARENA / 4];
  m[W_TCACHE] = m[t + TLS_TCACHE / 4];
  m[W_TCACHE_SHUTTING_DOWN] = m[t + TLS_TCACHE_SHUTTING_DOWN / 4];
  m[W_ERRNO] = m[t + TLS_ERRNO / 4];
  m[W_CUR_TLS] = tls;
}

/** A new thread starts running with its TLS block at `tls`: no arena, no tcache, errno 0. From now on the process is multi-threaded. */
export function thread_start(env: Env, tls: number): void {
  env.u8.fill(0, tls, tls + SIZEOF_TLS);
  set_thread(env, tls);
  env.u32[W_MULTIPLE_THREADS] = 1;
}

/** The running thread's start routine returned: __malloc_arena_thread_freeres (tcache first: it may free into the arena). */
export function thread_exit(env: Env): void {
  tcache_thread_shutdown(env);
  arena_thread_detach(env);
}
