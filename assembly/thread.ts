// Threads, one at a time. glibc keeps a thread's malloc state in thread-local variables: its arena
// (thread_arena), its tcache, the tcache's shutting-down flag, and errno. Here the running thread's
// are in static data (mp_, errno), where the hot paths read them at no cost; each thread has a TLS
// block in the process's memory, and a switch saves the running thread's state into its block and
// loads the next one's. The main thread's block is static data; another thread's is where the host
// put it (at the top of its stack mapping, where glibc puts the thread's TCB).
//
//  tls ─> +0   thread_arena    +4  tcache    +8  tcache_shutting_down    +12  errno
//         (one word each: x86-64's at +0, +8, +16, +24)

import { TLS_ARENA, TLS_ERRNO, TLS_TCACHE, TLS_TCACHE_SHUTTING_DOWN, SIZEOF_TLS } from "./config";
import { main_tls, mp_ } from "./arena";
import { arena_thread_detach } from "./arenas";
import { get_errno, set_errno } from "./syscalls";
import { tcache_thread_shutdown } from "./tcache";
import { load_u32, load_word, store_u32, store_word, zero_owned } from "./vm";

/** The running thread's TLS block (the main thread's until another runs). */
export function current_tls(): word {
  const cur = mp_.cur_tls;
  return cur != 0 ? cur : main_tls;
}

/** Make the thread whose TLS block is `tls` the running one. */
export function set_thread(tls: word): void {
  const cur = current_tls();
  if (cur == tls) return;
  store_word(cur, mp_.thread_arena, TLS_ARENA);
  store_word(cur, mp_.tcache, TLS_TCACHE);
  store_u32(cur, <u32>mp_.tcache_shutting_down, TLS_TCACHE_SHUTTING_DOWN);
  store_u32(cur, <u32>get_errno(), TLS_ERRNO);
  mp_.thread_arena = load_word(tls, TLS_ARENA);
  mp_.tcache = load_word(tls, TLS_TCACHE);
  mp_.tcache_shutting_down = <i32>load_u32(tls, TLS_TCACHE_SHUTTING_DOWN);
  set_errno(<i32>load_u32(tls, TLS_ERRNO));
  mp_.cur_tls = tls;
}

/** A new thread starts running with its TLS block at `tls`: no arena, no tcache, errno 0. From now on the process is multi-threaded. */
export function thread_start(tls: word): void {
  zero_owned(tls, SIZEOF_TLS);
  set_thread(tls);
  mp_.multiple_threads = 1;
}

/** The running thread's start routine returned: __malloc_arena_thread_freeres (tcache first: it may free into the arena). */
export function thread_exit(): void {
  tcache_thread_shutdown();
  arena_thread_detach();
}
