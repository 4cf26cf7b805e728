// Per-process identifier tables (specs/kernel/ipc.md: "The process receiving an SC or RC receives
// another identifier for it, unique to that process"; docs/kernel.md "Kernel objects"): a kernel object
// (a pipe's end, a service socket) is named to each process by an identifier of that process' own.
// Decided: identifiers start at 1 and are never reused within a process (0 is never an identifier), so
// a stale identifier names nothing rather than another object.

/** One process' identifiers for kernel objects of type T. */
export class HandleTable<T> {
  private readonly byId = new Map<bigint, T>();
  private next = 1n;

  /** Give `obj` a new identifier in this table (an object may hold several). */
  add(obj: T): bigint {
    const id = this.next++;
    this.byId.set(id, obj);
    return id;
  }

  get(id: bigint): T | undefined {
    return this.byId.get(id);
  }

  /** Forget `id`; the object it named, or undefined if it named none. */
  remove(id: bigint): T | undefined {
    const obj = this.byId.get(id);
    if (obj !== undefined) this.byId.delete(id);
    return obj;
  }

  /** The identifiers naming `obj` in this table, in the order they were given. */
  idsOf(obj: T): bigint[] {
    return [...this.byId].filter(([, o]) => o === obj).map(([id]) => id);
  }

  get size(): number {
    return this.byId.size;
  }

  /** Forget every identifier; the objects they named (each once). */
  clear(): T[] {
    const objs = [...new Set(this.byId.values())];
    this.byId.clear();
    return objs;
  }
}

/** Every process' table for one kind of kernel object, by PID. */
export class Handles<T> {
  private readonly tables = new Map<number, HandleTable<T>>();

  /** Name `obj` to process `pid`: the new identifier, unique in that process. */
  add(pid: number, obj: T): bigint {
    let t = this.tables.get(pid);
    if (t === undefined) {
      t = new HandleTable<T>();
      this.tables.set(pid, t);
    }
    return t.add(obj);
  }

  /** What `id` names for process `pid` (another process' identifiers name nothing for it). */
  get(pid: number, id: bigint): T | undefined {
    return this.tables.get(pid)?.get(id);
  }

  remove(pid: number, id: bigint): T | undefined {
    return this.tables.get(pid)?.remove(id);
  }

  /** How many identifiers process `pid` holds. */
  count(pid: number): number {
    return this.tables.get(pid)?.size ?? 0;
  }

  /** Process `pid`'s identifiers for `obj`, in the order they were given. */
  idsOf(pid: number, obj: T): bigint[] {
    return this.tables.get(pid)?.idsOf(obj) ?? [];
  }

  /** The processes holding an identifier for `obj`. */
  holders(obj: T): number[] {
    return [...this.tables].filter(([, t]) => t.idsOf(obj).length > 0).map(([pid]) => pid);
  }

  /**
   * Process `pid` exited: its table goes; the objects it named, so their owner can close what no
   * process holds any more.
   */
  dropProcess(pid: number): T[] {
    const t = this.tables.get(pid);
    if (t === undefined) return [];
    this.tables.delete(pid);
    return t.clear();
  }
}
