// MEM_ALLOC / MEM_FREE inside a process' WebAssembly memory (specs/kernel/syscalls.md 0x30–0x31,
// specs/kernel/memory.md). NightOS pages are 4 KiB; the allocator obtains them by growing the wasm
// memory (64 KiB at a time) and hands out page runs from what it grew. Pages the module's own code
// uses (data, stack, its own heap) are never "allocated" in this sense. Permissions are recorded,
// not enforced: WebAssembly has no page protection (docs/kernel.md, "Memory").

export const PAGE_SIZE = 4096;
const WASM_PAGE = 65536;
const PER_WASM_PAGE = WASM_PAGE / PAGE_SIZE;

export interface PagesImage {
  allocated: [number, number][];
  free: number[];
}

export type AllocResult = { ok: true; address: number } | { ok: false; reason: "no-space" };
export type FreeError =
  | "unaligned"
  | "address-out-of-range"
  | "size-out-of-range"
  | "not-allocated";

export class PageAllocator {
  /** Page index → permission bits, for allocated pages. */
  private readonly allocated = new Map<number, number>();
  /** Pages the allocator grew and that are currently free, as a sorted-on-demand set. */
  private readonly free = new Set<number>();

  constructor(private readonly memory: WebAssembly.Memory) {}

  get allocatedPages(): number {
    return this.allocated.size;
  }

  permissionsOf(address: number): number | undefined {
    return this.allocated.get(Math.floor(address / PAGE_SIZE));
  }

  alloc(size: number, permissions: number, zero: boolean): AllocResult {
    const pages = Math.ceil(size / PAGE_SIZE);
    let start = this.findRun(pages);
    if (start === undefined) {
      // Grow: the new wasm pages go to the free set; a run may join free pages at the old end.
      const need = Math.ceil(pages / PER_WASM_PAGE);
      let old: number;
      try {
        old = this.memory.grow(need);
      } catch {
        return { ok: false, reason: "no-space" };
      }
      for (let p = old * PER_WASM_PAGE; p < (old + need) * PER_WASM_PAGE; p++) this.free.add(p);
      start = this.findRun(pages);
      if (start === undefined) return { ok: false, reason: "no-space" };
    }
    for (let p = start; p < start + pages; p++) {
      this.free.delete(p);
      this.allocated.set(p, permissions);
    }
    if (zero) new Uint8Array(this.memory.buffer, start * PAGE_SIZE, pages * PAGE_SIZE).fill(0);
    return { ok: true, address: start * PAGE_SIZE };
  }

  free_(address: number, pages: number): FreeError | undefined {
    const size = this.memory.buffer.byteLength;
    if (address % PAGE_SIZE !== 0) return "unaligned";
    if (address >= size) return "address-out-of-range";
    if (address + pages * PAGE_SIZE > size) return "size-out-of-range";
    const first = address / PAGE_SIZE;
    for (let p = first; p < first + pages; p++) if (!this.allocated.has(p)) return "not-allocated";
    for (let p = first; p < first + pages; p++) {
      this.allocated.delete(p);
      this.free.add(p);
    }
    return undefined;
  }

  /** The allocator's state, for a CREATE_PROCESS child (whose memory is a copy of this one). */
  snapshot(): PagesImage {
    return { allocated: [...this.allocated.entries()], free: [...this.free] };
  }

  restore(image: PagesImage): void {
    this.allocated.clear();
    this.free.clear();
    for (const [p, perm] of image.allocated) this.allocated.set(p, perm);
    for (const p of image.free) this.free.add(p);
  }

  private findRun(pages: number): number | undefined {
    if (this.free.size < pages) return undefined;
    const sorted = [...this.free].sort((a, b) => a - b);
    let runStart = -1;
    let runLen = 0;
    for (const p of sorted) {
      if (runLen > 0 && p === runStart + runLen) runLen++;
      else {
        runStart = p;
        runLen = 1;
      }
      if (runLen >= pages) return runStart;
    }
    return undefined;
  }
}
