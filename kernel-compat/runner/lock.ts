// A lock one process' threads share: an i32 of a SharedArrayBuffer, 0 free and 1 held, for the tables
// more than one thread writes (memory.ts's page allocator, ams.ts's mappings). A waiter sleeps until the
// holder's notify, or 1 ms at the most, and tries again.

/** Runs `f` holding the lock word `words[at]`. */
export function withLock<T>(words: Int32Array, at: number, f: () => T): T {
  while (Atomics.compareExchange(words, at, 0, 1) !== 0) Atomics.wait(words, at, 1, 1);
  try {
    return f();
  } finally {
    Atomics.store(words, at, 0);
    Atomics.notify(words, at, 1);
  }
}
