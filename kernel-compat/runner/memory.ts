// MEM_ALLOC / MEM_FREE inside a process' WebAssembly memory (specs/kernel/syscalls.md 0x30–0x31,
// specs/kernel/memory.md). NightOS pages are 4 KiB; the allocator obtains them by growing the wasm
// memory (64 KiB at a time) and hands out page runs from what it grew. Pages the module's own code
// uses (data, stack, its own heap) are never "allocated" in this sense. Permissions are recorded,
// not enforced: WebAssembly has no page protection (docs/kernel.md, "Memory"). Allocation is per
// process (memory.md): the state lives in a SharedArrayBuffer the process' threads share, under a lock.

import { WASM_PAGE_SIZE } from "../../commonassembly/abi/wasm-names.js";
import { withLock } from "./lock.js";

export const PAGE_SIZE = 4096;
const PER_WASM_PAGE = WASM_PAGE_SIZE / PAGE_SIZE;

export interface PagesImage {
  allocated: [number, number][];
  free: number[];
}

export type AllocResult = { ok: true; address: number } | { ok: false; reason: "no-space" };
export type FreeError =
  | "shared"
  | "mapped"
  | "unaligned"
  | "address-out-of-range"
  | "size-out-of-range"
  | "not-allocated";

/** Pages of a 4 GiB wasm32 memory. */
const MAX_PAGES = 0x100000;
/**
 * Page state bytes: 0 = not the allocator's, FREE = grown and free, ALLOCATED | permissions (3 bits),
 * and the AMS marks (docs/ipc.md "Shared memory"), on any page: registered in an AMS by VIRT_MEM_AMS
 * (MEM_FREE 0x33), an AMS mapped there (MEM_FREE 0x32), mapped read-only (the runner writes nothing
 * there: 0x04, or a memory fault for a return area).
 */
const FREE = 0x01;
const ALLOCATED = 0x80;
const PERMISSIONS = 0x07;
export const AmsMark = { SOURCE: 0x40, MAPPED: 0x20, READ_ONLY: 0x10 } as const;
const MARKS = AmsMark.SOURCE | AmsMark.MAPPED | AmsMark.READ_ONLY;
/** The state: a lock word, an allocated-page count, then one byte per page. */
const HEADER = 8;

/** The allocator state a process' threads share (the OS commits the zero pages on first write only). */
export function createPagesState(): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER + MAX_PAGES);
}

export class PageAllocator {
  private readonly words: Int32Array;
  private readonly state: Uint8Array;

  constructor(
    private readonly memory: WebAssembly.Memory,
    readonly sab: SharedArrayBuffer = createPagesState(),
  ) {
    this.words = new Int32Array(sab, 0, 2);
    this.state = new Uint8Array(sab, HEADER);
  }

  get allocatedPages(): number {
    return Atomics.load(this.words, 1);
  }

  permissionsOf(address: number): number | undefined {
    const b = this.state[Math.floor(address / PAGE_SIZE)] ?? 0;
    return b & ALLOCATED ? b & PERMISSIONS : undefined;
  }

  /** `reserve(bytes)` is asked before the memory grows (the kernel's home memory limit); false refuses. */
  alloc(
    size: number,
    permissions: number,
    zero: boolean,
    reserve?: (bytes: number) => boolean,
  ): AllocResult {
    const pages = Math.ceil(size / PAGE_SIZE);
    const start = this.locked(() => {
      let at = this.findRun(pages);
      if (at === undefined) {
        // Grow: the new wasm pages become free; a run may join free pages at the old end.
        const need = Math.ceil(pages / PER_WASM_PAGE);
        if (reserve !== undefined && !reserve(need * WASM_PAGE_SIZE)) return undefined;
        let old: number;
        try {
          old = this.memory.grow(need);
        } catch {
          return undefined;
        }
        this.state.fill(FREE, old * PER_WASM_PAGE, (old + need) * PER_WASM_PAGE);
        at = this.findRun(pages);
        if (at === undefined) return undefined;
      }
      this.state.fill(ALLOCATED | (permissions & PERMISSIONS), at, at + pages);
      this.words[1] = (this.words[1] ?? 0) + pages;
      return at;
    });
    if (start === undefined) return { ok: false, reason: "no-space" };
    if (zero) new Uint8Array(this.memory.buffer, start * PAGE_SIZE, pages * PAGE_SIZE).fill(0);
    return { ok: true, address: start * PAGE_SIZE };
  }

  free_(address: number, pages: number): FreeError | undefined {
    const size = this.memory.buffer.byteLength;
    if (address % PAGE_SIZE !== 0) return "unaligned";
    if (address >= size) return "address-out-of-range";
    if (address + pages * PAGE_SIZE > size) return "size-out-of-range";
    const first = address / PAGE_SIZE;
    return this.locked(() => {
      for (let p = first; p < first + pages; p++) {
        const b = this.state[p] ?? 0;
        // syscalls.md MEM_FREE: shared pages must be unshared, mapped pages unmapped first.
        if (b & AmsMark.SOURCE) return "shared";
        if (b & AmsMark.MAPPED) return "mapped";
        if ((b & ALLOCATED) === 0) return "not-allocated";
      }
      this.state.fill(FREE, first, first + pages);
      this.words[1] = (this.words[1] ?? 0) - pages;
      return undefined;
    });
  }

  /** Set AMS marks on the pages of [address, address + length). */
  mark(address: number, length: number, marks: number): void {
    this.locked(() => {
      for (let p = address / PAGE_SIZE; p < (address + length) / PAGE_SIZE; p++)
        this.state[p] = (this.state[p] ?? 0) | marks;
    });
  }

  /** Clear AMS marks; `release`: the pages go back to the allocator (free) if they were its. */
  unmark(address: number, length: number, marks: number, release = false): void {
    this.locked(() => {
      for (let p = address / PAGE_SIZE; p < (address + length) / PAGE_SIZE; p++) {
        const b = (this.state[p] ?? 0) & ~marks;
        if (release && b & ALLOCATED) this.words[1] = (this.words[1] ?? 0) - 1;
        this.state[p] = release && b & ALLOCATED ? FREE : b;
      }
    });
  }

  /** Whether any page of [address, address + length) carries one of `marks`. */
  anyMarked(address: number, length: number, marks: number): boolean {
    if (length <= 0) return false;
    const last = Math.floor((address + length - 1) / PAGE_SIZE);
    for (let p = Math.floor(address / PAGE_SIZE); p <= last; p++)
      if (((this.state[p] ?? 0) & marks) !== 0) return true;
    return false;
  }

  /**
   * The allocator's state, for a CREATE_PROCESS child (whose memory is a copy of this one). Decided
   * (docs/ipc.md): the child inherits no AMS, so the marks are left out; its pages are private copies.
   */
  snapshot(): PagesImage {
    return this.locked(() => {
      const allocated: [number, number][] = [];
      const free: number[] = [];
      const n = Math.min(MAX_PAGES, this.memory.buffer.byteLength / PAGE_SIZE);
      for (let p = 0; p < n; p++) {
        const b = this.state[p] ?? 0;
        if (b & ALLOCATED) allocated.push([p, b & PERMISSIONS]);
        else if ((b & ~MARKS) === FREE) free.push(p);
      }
      return { allocated, free };
    });
  }

  restore(image: PagesImage): void {
    this.locked(() => {
      // Only the pages the memory has (a fresh state is zero: its other pages stay uncommitted).
      this.state.fill(0, 0, Math.min(MAX_PAGES, this.memory.buffer.byteLength / PAGE_SIZE));
      for (const [p, perm] of image.allocated) this.state[p] = ALLOCATED | (perm & PERMISSIONS);
      for (const p of image.free) this.state[p] = FREE;
      this.words[1] = image.allocated.length;
    });
  }

  private locked<T>(f: () => T): T {
    return withLock(this.words, 0, f);
  }

  private findRun(pages: number): number | undefined {
    const n = Math.min(MAX_PAGES, this.memory.buffer.byteLength / PAGE_SIZE);
    let runStart = 0;
    let runLen = 0;
    for (let p = 0; p < n; p++) {
      if (this.state[p] !== FREE) {
        runLen = 0;
        continue;
      }
      if (runLen === 0) runStart = p;
      runLen++;
      if (runLen >= pages) return runStart;
    }
    return undefined;
  }
}
