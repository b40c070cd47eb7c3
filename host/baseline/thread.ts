// Threads, one at a time, as assembly/thread.ts. glibc keeps a thread's malloc state in
// thread-local variables: its arena (thread_arena), its tcache, the tcache's shutting-down flag,
// and errno. Here the running thread's are in the static words the hot paths read (mp_'s
// thread_arena, tcache, tcache_shutting_down, and errno); each thread has a TLS block in the
// process's memory, and a switch saves the running thread's state into its block and loads the
// next one's. The main thread's block is static data (MAIN_TLS); another thread's is where the
// host put it (at the top of its stack mapping, where glibc puts the thread's TCB).
//
//  tls ─> +0   thread_arena    +4  tcache    +8  tcache_shutting_down    +12  errno
//         (one word each: x86-64's at +0, +8, +16, +24)

import * as C32 from "../../assembly/config.js";
import * as C64 from "../generated/config-x86_64.js";
import { arena_thread_detach } from "./arenas.js";
import { ldf, ldi, stf, sti, zero_owned, type Env } from "./env.js";
import { W_CUR_TLS, W_ERRNO, W_MULTIPLE_THREADS, W_TCACHE, W_TCACHE_SHUTTING_DOWN, W_THREAD_ARENA } from "./layout.js";
import { tcache_thread_shutdown } from "./tcache.js";

/** The running thread's TLS block (the main thread's until another runs). */
export function current_tls(env: Env): number {
  const cur = env.mp[W_CUR_TLS]!;
  return cur !== 0 ? cur : env.mainTls;
}

/** Make the thread whose TLS block is `tls` the running one (raw loads and stores, as the Wasm build's). */
export function set_thread(env: Env, tls: number): void {
  const cur = current_tls(env);
  if (cur === tls) return;
  const mp = env.mp;
  stf(env, cur, C32.TLS_ARENA, C64.TLS_ARENA, mp[W_THREAD_ARENA]!);
  stf(env, cur, C32.TLS_TCACHE, C64.TLS_TCACHE, mp[W_TCACHE]!);
  sti(env, cur, C32.TLS_TCACHE_SHUTTING_DOWN, C64.TLS_TCACHE_SHUTTING_DOWN, mp[W_TCACHE_SHUTTING_DOWN]!);
  sti(env, cur, C32.TLS_ERRNO, C64.TLS_ERRNO, env.mpi[W_ERRNO]!);
  mp[W_THREAD_ARENA] = ldf(env, tls, C32.TLS_ARENA, C64.TLS_ARENA);
  mp[W_TCACHE] = ldf(env, tls, C32.TLS_TCACHE, C64.TLS_TCACHE);
  mp[W_TCACHE_SHUTTING_DOWN] = ldi(env, tls, C32.TLS_TCACHE_SHUTTING_DOWN, C64.TLS_TCACHE_SHUTTING_DOWN);
  env.mpi[W_ERRNO] = ldi(env, tls, C32.TLS_ERRNO, C64.TLS_ERRNO) | 0;
  mp[W_CUR_TLS] = tls;
}

/** A new thread starts running with its TLS block at `tls`: no arena, no tcache, errno 0. From now on the process is multi-threaded. */
export function thread_start(env: Env, tls: number): void {
  zero_owned(env, tls, env.SIZEOF_TLS);
  set_thread(env, tls);
  env.mp[W_MULTIPLE_THREADS] = 1;
}

/** The running thread's start routine returned: __malloc_arena_thread_freeres (tcache first: it may free into the arena). */
export function thread_exit(env: Env): void {
  tcache_thread_shutdown(env);
  arena_thread_detach(env);
}
