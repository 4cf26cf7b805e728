// Streaming safepoint-poll insertion without Binaryen (docs/commonassembly-aot.md, "Two engines"): adds the
// `nightos.safepoint` import, the `__nightos_ctl` global and export, and the ABI 1.0 polls, by rewriting
// the binary's sections directly. Used for modules that need no Asyncify; valid input is assumed (validated first).

import { ABI_IMPORT_MODULE, CTL_GLOBAL, IMPORT_SAFEPOINT } from "../abi/wasm-names.js";
import { uleb, wasmName } from "./leb.js";
import { readModule, SECTION_ORDER, SectionId, type WasmModuleInfo } from "./reader.js";

/** Why the fast path cannot handle a module (the caller falls back to Binaryen). */
export class PollRewriteUnsupported extends Error {}

export interface PollRewriteOptions {
  /** false: add the import, global and export only (the bench's uninstrumented baseline). */
  polls: boolean;
  /** Also export memory 0 under this name (modules given a control memory by the AOT step). */
  exportMemory?: string;
}

export interface PollRewriteResult {
  wasm: Uint8Array;
  functions: number;
  entryPolls: number;
  loopPolls: number;
  elidedLoopPolls: number;
}

/** A growable byte buffer. */
class Out {
  buf: Uint8Array;
  len = 0;
  constructor(size: number) {
    this.buf = new Uint8Array(Math.max(64, size));
  }
  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  byte(b: number): void {
    this.room(1);
    this.buf[this.len++] = b;
  }
  bytes(b: Uint8Array | readonly number[]): void {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  uleb(n: number): void {
    this.room(5);
    do {
      let b = n & 0x7f;
      n = Math.floor(n / 128);
      if (n !== 0) b |= 0x80;
      this.buf[this.len++] = b;
    } while (n !== 0);
  }
  result(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

/** A cursor over valid WebAssembly bytes (the module was validated before; bounds are still checked). */
class In {
  constructor(
    readonly b: Uint8Array,
    public pos: number,
    readonly end: number,
  ) {}
  byte(): number {
    if (this.pos >= this.end) throw new PollRewriteUnsupported("unexpected end of input");
    return this.b[this.pos++] as number;
  }
  u32(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 5; i++) {
      const b = this.byte();
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    throw new PollRewriteUnsupported("LEB128 too long");
  }
  /** Skips a signed LEB128 of any length. */
  skipLeb(): void {
    while ((this.byte() & 0x80) !== 0) {}
  }
  /** A block type: -1 for empty (0x40) or a value type, else the type index. */
  blockType(): number {
    const first = this.b[this.pos] as number;
    if (first === 0x40 || (first >= 0x6f && first <= 0x7f && first !== 0x7a)) {
      this.pos++;
      return first === 0x40 ? -1 : -2;
    }
    let result = 0;
    let mul = 1;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) {
        if ((b & 0x40) !== 0) throw new PollRewriteUnsupported("negative block type index");
        return result;
      }
    }
  }
  memarg(): void {
    const align = this.u32();
    if ((align & 0x40) !== 0) this.u32(); // memory index (multi-memory encoding)
    this.u32();
  }
}

/** The ABI 1.0 flag load: `i32.const 0` `i32.atomic.load align=4 offset=0`. */
const LOAD = [0x41, 0x00, 0xfe, 0x10, 0x02, 0x00];

interface Frame {
  /** Labels the rewrite inserted between this frame and its parent (3 for a polled loop). */
  extra: number;
  /** For a polled loop: the block type bytes, re-emitted after its end. */
  loopPoll: boolean;
}

/** Skips the immediates of the instruction whose opcode byte was just read (non-control kinds). */
function skipImmediates(r: In, op: number): void {
  if (op >= 0x28 && op <= 0x3e) {
    r.memarg();
    return;
  }
  switch (op) {
    case 0x11:
      r.u32();
      r.u32();
      return;
    case 0x1c: {
      const n = r.u32();
      for (let i = 0; i < n; i++) r.byte();
      return;
    }
    case 0x20:
    case 0x21:
    case 0x22:
    case 0x23:
    case 0x24:
    case 0x25:
    case 0x26:
    case 0x3f:
    case 0x40:
      r.u32();
      return;
    case 0x41:
    case 0x42:
      r.skipLeb();
      return;
    case 0x43:
      r.pos += 4;
      return;
    case 0x44:
      r.pos += 8;
      return;
    case 0xd0:
      r.byte();
      return;
    case 0xfc: {
      const sub = r.u32();
      if (sub <= 7) return;
      if (sub === 8 || sub === 10 || sub === 12 || sub === 14) {
        r.u32();
        r.u32();
        return;
      }
      if (sub <= 17) {
        r.u32();
        return;
      }
      throw new PollRewriteUnsupported(`unknown instruction 0xfc ${sub}`);
    }
    case 0xfd: {
      const sub = r.u32();
      if (sub <= 11 || sub === 92 || sub === 93) {
        r.memarg();
        return;
      }
      if (sub === 12 || sub === 13) {
        r.pos += 16;
        return;
      }
      if (sub >= 21 && sub <= 34) {
        r.byte();
        return;
      }
      if (sub >= 84 && sub <= 91) {
        r.memarg();
        r.byte();
        return;
      }
      if (sub > 0xff) throw new PollRewriteUnsupported(`unknown instruction 0xfd ${sub}`);
      return;
    }
    case 0xfe: {
      const sub = r.u32();
      if (sub === 0x03) {
        r.byte();
        return;
      }
      if (sub <= 0x02 || (sub >= 0x10 && sub <= 0x4e)) {
        r.memarg();
        return;
      }
      throw new PollRewriteUnsupported(`unknown instruction 0xfe ${sub}`);
    }
    default:
      if (op <= 0x01 || op === 0x05 || op === 0x0f || op === 0x1a || op === 0x1b) return;
      if ((op >= 0x45 && op <= 0xc4) || op === 0xd1) return;
      throw new PollRewriteUnsupported(`unknown opcode 0x${op.toString(16)}`);
  }
}

/**
 * Decides whether the loop whose body starts at `pos` needs no header poll: a direct call to a defined
 * function (which polls at its entry) is reached on every path from the header back to it. Same rule as
 * the Binaryen path: the call sits at the loop's level or inside plain blocks only (not an if or a nested
 * loop), no branch before it targets the loop, and no branch before it jumps to the end of a structure
 * that encloses it.
 */
function loopAlwaysCalls(b: Uint8Array, pos: number, end: number, definedFrom: number): boolean {
  const r = new In(b, pos, end);
  /** Kinds of the structures open inside the loop (0x02 block, 0x03 loop, 0x04 if). */
  const open: number[] = [];
  let nonBlock = 0;
  /** Depth (1-based) of the outermost open structure a branch may leave early; Infinity: none. */
  let poison = Number.POSITIVE_INFINITY;
  const branch = (label: number): boolean => {
    const target = open.length - label; // 0: the loop itself; < 0: outside it
    if (target === 0) return true;
    if (target > 0 && open[target - 1] !== 0x03) poison = Math.min(poison, target);
    return false;
  };
  while (r.pos < end) {
    const op = r.byte();
    switch (op) {
      case 0x02:
      case 0x03:
      case 0x04:
        r.blockType();
        open.push(op);
        if (op !== 0x02) nonBlock++;
        break;
      case 0x0b: {
        if (open.length === 0) return false; // the loop's end
        if (poison >= open.length) poison = Number.POSITIVE_INFINITY;
        if (open.pop() !== 0x02) nonBlock--;
        break;
      }
      case 0x0c:
      case 0x0d:
        if (branch(r.u32())) return false;
        break;
      case 0x0e: {
        const n = r.u32();
        for (let i = 0; i <= n; i++) if (branch(r.u32())) return false;
        break;
      }
      case 0x10:
        if (r.u32() >= definedFrom && nonBlock === 0 && poison > open.length) return true;
        break;
      case 0xd2:
        r.u32();
        break;
      default:
        skipImmediates(r, op);
    }
  }
  return false;
}

interface CodeContext {
  /** Function indices >= this shift by `shift` (a new import was added before them). */
  shiftFrom: number;
  shift: number;
  safepoint: number;
  /** Index of the first defined function in the *original* index space. */
  definedFrom: number;
  polls: boolean;
}

const fidx = (ctx: CodeContext, i: number): number => (i >= ctx.shiftFrom ? i + ctx.shift : i);

/** Rewrites one function body (locals + code); returns the number of loop polls and elisions. */
function rewriteBody(
  b: Uint8Array,
  start: number,
  end: number,
  params: number,
  ctx: CodeContext,
  out: Out,
  counts: { loops: number; elided: number },
): void {
  const r = new In(b, start, end);
  const groups = r.u32();
  let locals = params;
  const localsStart = r.pos;
  for (let i = 0; i < groups; i++) {
    locals += r.u32();
    r.byte();
  }
  const localsBytes = b.subarray(localsStart, r.pos);
  const body = new Out(end - start + 64);
  const seen = locals;
  if (ctx.polls) {
    body.uleb(groups + 1);
    body.bytes(localsBytes);
    body.bytes([0x01, 0x7f]);
    // entry: seen = load; if (seen) { safepoint(); seen = load }
    body.bytes(LOAD);
    body.byte(0x22);
    body.uleb(seen);
    body.bytes([0x04, 0x40, 0x10]);
    body.uleb(ctx.safepoint);
    body.bytes(LOAD);
    body.byte(0x21);
    body.uleb(seen);
    body.byte(0x0b);
  } else {
    body.uleb(groups);
    body.bytes(localsBytes);
  }
  const frames: Frame[] = [{ extra: 0, loopPoll: false }];
  const seenBytes = uleb(seen);
  const spBytes = uleb(ctx.safepoint);
  const depth = (d: number): number => {
    let extra = 0;
    const top = frames.length - 1;
    for (let i = top; i > top - d; i--) extra += (frames[i] as Frame).extra;
    return d + extra;
  };
  // Runs of instructions that need no change are copied in one piece (from `run` up to the next change).
  let run = r.pos;
  const flush = (upTo: number): void => {
    if (upTo > run) body.bytes(b.subarray(run, upTo));
  };
  while (r.pos < end) {
    const at = r.pos;
    const op = r.byte();
    switch (op) {
      case 0x02:
      case 0x04:
        r.blockType();
        frames.push({ extra: 0, loopPoll: false });
        break;
      case 0x03: {
        const bt = r.blockType();
        if (bt >= 0) throw new PollRewriteUnsupported("a loop with a type-index block type");
        if (!ctx.polls) {
          frames.push({ extra: 0, loopPoll: false });
          break;
        }
        if (loopAlwaysCalls(b, r.pos, end, ctx.definedFrom)) {
          counts.elided++;
          frames.push({ extra: 0, loopPoll: false });
          break;
        }
        counts.loops++;
        flush(at);
        const btBytes = b.subarray(at + 1, r.pos);
        // (loop $re BT (block $done BT (block $take (loop $L BT (br_if $take changed) body…
        body.byte(0x03);
        body.bytes(btBytes);
        body.byte(0x02);
        body.bytes(btBytes);
        body.bytes([0x02, 0x40, 0x03]);
        body.bytes(btBytes);
        body.bytes(LOAD);
        body.byte(0x20);
        body.bytes(seenBytes);
        body.bytes([0x47, 0x0d, 0x01]);
        run = r.pos;
        frames.push({ extra: 3, loopPoll: true });
        break;
      }
      case 0x0b: {
        const f = frames.pop();
        if (f?.loopPoll === true) {
          flush(r.pos);
          // …) (br $done)) (call $safepoint) (local.set $seen load) (br $re)))
          body.bytes([0x0c, 0x01, 0x0b, 0x10]);
          body.bytes(spBytes);
          body.bytes(LOAD);
          body.byte(0x21);
          body.bytes(seenBytes);
          body.bytes([0x0c, 0x01, 0x0b, 0x0b]);
          run = r.pos;
        }
        break;
      }
      case 0x0c:
      case 0x0d: {
        const d = r.u32();
        const nd = depth(d);
        if (nd !== d) {
          flush(at);
          body.byte(op);
          body.uleb(nd);
          run = r.pos;
        }
        break;
      }
      case 0x0e: {
        const n = r.u32();
        const labels: number[] = [];
        let changed = false;
        for (let i = 0; i <= n; i++) {
          const d = r.u32();
          const nd = depth(d);
          if (nd !== d) changed = true;
          labels.push(nd);
        }
        if (changed) {
          flush(at);
          body.byte(op);
          body.uleb(n);
          for (const l of labels) body.uleb(l);
          run = r.pos;
        }
        break;
      }
      case 0x10:
      case 0xd2: {
        const i = r.u32();
        const ni = fidx(ctx, i);
        if (ni !== i) {
          flush(at);
          body.byte(op);
          body.uleb(ni);
          run = r.pos;
        }
        break;
      }
      default:
        skipImmediates(r, op);
    }
  }
  flush(end);
  if (frames.length !== 0) throw new PollRewriteUnsupported("unbalanced function body");
  const code = body.result();
  out.uleb(code.length);
  out.bytes(code);
}

/** Rewrites a constant expression (global initializer, element offset/item), shifting ref.func. */
function rewriteConstExpr(r: In, ctx: CodeContext, out: Out): void {
  for (;;) {
    const at = r.pos;
    const op = r.byte();
    if (op === 0x0b) {
      out.byte(op);
      return;
    }
    if (op === 0xd2) {
      out.byte(op);
      out.uleb(fidx(ctx, r.u32()));
      continue;
    }
    skipImmediates(r, op);
    out.bytes(r.b.subarray(at, r.pos));
  }
}

function section(out: Out, id: number, content: Uint8Array): void {
  out.byte(id);
  out.uleb(content.length);
  out.bytes(content);
}

/**
 * Adds polls to a valid module that needs no Asyncify. Throws PollRewriteUnsupported for what it does not
 * handle (a loop with a type-index block type, or anything unexpected): the caller then uses Binaryen.
 */
export function rewritePolls(
  bytes: Uint8Array,
  options: PollRewriteOptions,
  parsed?: WasmModuleInfo,
): PollRewriteResult {
  const info = parsed ?? readModule(bytes);
  if (info.exports.some((e) => e.name === CTL_GLOBAL))
    throw new PollRewriteUnsupported(`the module already exports ${CTL_GLOBAL}`);
  const existing = info.imports.filter((i) => i.kind === "func");
  const spAt = existing.findIndex(
    (i) => i.module === ABI_IMPORT_MODULE && i.name === IMPORT_SAFEPOINT,
  );
  const addImport = spAt < 0;
  const ctx: CodeContext = {
    shiftFrom: info.importedFuncs,
    shift: addImport ? 1 : 0,
    safepoint: addImport ? info.importedFuncs : spAt,
    definedFrom: info.importedFuncs,
    polls: options.polls,
  };
  // The safepoint's type () -> ().
  let voidType = info.types.findIndex((t) => t.params.length === 0 && t.results.length === 0);
  const addType = addImport && voidType < 0;
  if (addType) voidType = info.types.length;
  const globalIndex = info.importedGlobals + info.globals.length;
  const newExports = [
    ...wasmName(CTL_GLOBAL),
    0x03,
    ...uleb(globalIndex),
    ...(options.exportMemory === undefined ? [] : [...wasmName(options.exportMemory), 0x02, 0x00]),
  ];
  const newExportCount = options.exportMemory === undefined ? 1 : 2;

  const out = new Out(bytes.length + bytes.length / 4 + 1024);
  out.bytes(bytes.subarray(0, 8));
  const has = (id: number): boolean => info.sections.some((s) => s.id === id);
  const counts = { loops: 0, elided: 0 };
  let entryPolls = 0;
  const emitted = new Set<number>();

  // New sections that the module lacks, emitted before the first section that must follow them.
  const missing = (id: number): Uint8Array | undefined => {
    if (id === SectionId.type && addType) return Uint8Array.from([1, 0x60, 0, 0]);
    if (id === SectionId.import && addImport)
      return Uint8Array.from([
        1,
        ...wasmName(ABI_IMPORT_MODULE),
        ...wasmName(IMPORT_SAFEPOINT),
        0x00,
        ...uleb(voidType),
      ]);
    if (id === SectionId.global) return Uint8Array.from([1, 0x7f, 0x01, 0x41, 0x00, 0x0b]);
    if (id === SectionId.export) return Uint8Array.from([newExportCount, ...newExports]);
    return undefined;
  };
  const flushMissing = (beforeOrder: number): void => {
    for (const id of [SectionId.type, SectionId.import, SectionId.global, SectionId.export]) {
      const order = SECTION_ORDER[id] as number;
      if (order >= beforeOrder || emitted.has(id) || has(id)) continue;
      const content = missing(id);
      emitted.add(id);
      if (content !== undefined) section(out, id, content);
    }
  };

  for (const s of info.sections) {
    const content = bytes.subarray(s.contentOffset, s.contentOffset + s.size);
    if (s.id !== 0) flushMissing(SECTION_ORDER[s.id] ?? 99);
    emitted.add(s.id);
    const r = new In(bytes, s.contentOffset, s.contentOffset + s.size);
    const o = new Out(s.size + 64);
    switch (s.id) {
      case SectionId.type: {
        if (!addType) {
          section(out, s.id, content);
          break;
        }
        const n = r.u32();
        o.uleb(n + 1);
        o.bytes(bytes.subarray(r.pos, r.end));
        o.bytes([0x60, 0, 0]);
        section(out, s.id, o.result());
        break;
      }
      case SectionId.import: {
        if (!addImport) {
          section(out, s.id, content);
          break;
        }
        const n = r.u32();
        o.uleb(n + 1);
        o.bytes(bytes.subarray(r.pos, r.end));
        o.bytes([
          ...wasmName(ABI_IMPORT_MODULE),
          ...wasmName(IMPORT_SAFEPOINT),
          0x00,
          ...uleb(voidType),
        ]);
        section(out, s.id, o.result());
        break;
      }
      case SectionId.global: {
        const n = r.u32();
        o.uleb(n + 1);
        for (let i = 0; i < n; i++) {
          o.byte(r.byte());
          o.byte(r.byte());
          rewriteConstExpr(r, ctx, o);
        }
        o.bytes([0x7f, 0x01, 0x41, 0x00, 0x0b]);
        section(out, s.id, o.result());
        break;
      }
      case SectionId.export: {
        const n = r.u32();
        o.uleb(n + newExportCount);
        for (let i = 0; i < n; i++) {
          const len = r.u32();
          o.uleb(len);
          o.bytes(bytes.subarray(r.pos, r.pos + len));
          r.pos += len;
          const kind = r.byte();
          o.byte(kind);
          const idx = r.u32();
          o.uleb(kind === 0 ? fidx(ctx, idx) : idx);
        }
        o.bytes(newExports);
        section(out, s.id, o.result());
        break;
      }
      case SectionId.start:
        o.uleb(fidx(ctx, r.u32()));
        section(out, s.id, o.result());
        break;
      case SectionId.element: {
        const n = r.u32();
        o.uleb(n);
        for (let i = 0; i < n; i++) {
          const flags = r.u32();
          o.uleb(flags);
          if (flags & 2 && !(flags & 1)) o.uleb(r.u32()); // table index (flags 2, 6)
          if (!(flags & 1)) rewriteConstExpr(r, ctx, o); // offset (active)
          if (flags & 3) o.byte(r.byte()); // elemkind / reftype (flags 1, 2, 3, 5, 6, 7)
          const count = r.u32();
          o.uleb(count);
          for (let j = 0; j < count; j++) {
            if (flags & 4) rewriteConstExpr(r, ctx, o);
            else o.uleb(fidx(ctx, r.u32()));
          }
        }
        section(out, s.id, o.result());
        break;
      }
      case SectionId.code: {
        const n = r.u32();
        o.uleb(n);
        for (let i = 0; i < n; i++) {
          const size = r.u32();
          const start = r.pos;
          const type = info.types[info.functions[i] as number];
          if (type === undefined) throw new PollRewriteUnsupported("function without a type");
          rewriteBody(bytes, start, start + size, type.params.length, ctx, o, counts);
          if (options.polls) entryPolls++;
          r.pos = start + size;
        }
        section(out, s.id, o.result());
        break;
      }
      case 0:
        if (s.name === "name") {
          const rewritten = rewriteNameSection(
            bytes,
            s.contentOffset,
            s.contentOffset + s.size,
            ctx,
          );
          if (rewritten !== undefined) section(out, 0, rewritten);
        } else section(out, 0, content);
        break;
      default:
        section(out, s.id, content);
    }
  }
  flushMissing(99);
  return {
    wasm: out.result().slice(),
    functions: info.functions.length,
    entryPolls,
    loopPolls: counts.loops,
    elidedLoopPolls: counts.elided,
  };
}

/**
 * The "name" section with function indices shifted (subsections 1 function names and 2 local names);
 * label names (3) are dropped (the rewrite adds labels), the others are kept. Undefined: drop it.
 */
function rewriteNameSection(
  b: Uint8Array,
  start: number,
  end: number,
  ctx: CodeContext,
): Uint8Array | undefined {
  try {
    const r = new In(b, start, end);
    const o = new Out(end - start + 16);
    const nameLen = r.u32();
    r.pos += nameLen;
    o.bytes(b.subarray(start, r.pos));
    while (r.pos < end) {
      const id = r.byte();
      const size = r.u32();
      const subEnd = r.pos + size;
      if (id === 3) {
        r.pos = subEnd;
        continue;
      }
      if (id !== 1 && id !== 2) {
        o.byte(id);
        o.uleb(size);
        o.bytes(b.subarray(r.pos, subEnd));
        r.pos = subEnd;
        continue;
      }
      const sub = new Out(size + 16);
      const n = r.u32();
      sub.uleb(n);
      for (let i = 0; i < n; i++) {
        sub.uleb(fidx(ctx, r.u32()));
        const from = r.pos;
        if (id === 1) {
          const len = r.u32();
          r.pos += len;
        } else {
          const m = r.u32();
          for (let j = 0; j < m; j++) {
            r.u32();
            const len = r.u32();
            r.pos += len;
          }
        }
        sub.bytes(b.subarray(from, r.pos));
      }
      if (r.pos !== subEnd) return undefined;
      const bytes = sub.result();
      o.byte(id);
      o.uleb(bytes.length);
      o.bytes(bytes);
    }
    return o.result().slice();
  } catch {
    return undefined;
  }
}

/**
 * The first instruction outside CommonAssembly (core 2.0 + threads) in the module's code, if any: the
 * feature check that lets validation trust V8 (which also accepts e.g. tail calls and exceptions) for
 * modules without one. Constant expressions are checked by the reader; `info` must come from it.
 */
export function findNonCaInstruction(
  bytes: Uint8Array,
  info: WasmModuleInfo,
): { offset: number; funcIndex: number } | undefined {
  for (let f = 0; f < info.codeBodies.length; f++) {
    const body = info.codeBodies[f] as { bodyOffset: number; size: number };
    const end = body.bodyOffset + body.size;
    const r = new In(bytes, body.bodyOffset, end);
    let at = r.pos;
    try {
      const groups = r.u32();
      for (let i = 0; i < groups; i++) {
        r.u32();
        r.byte();
      }
      while (r.pos < end) {
        at = r.pos;
        const op = r.byte();
        switch (op) {
          case 0x02:
          case 0x03:
          case 0x04:
            r.blockType();
            break;
          case 0x0b:
            break;
          case 0x0c:
          case 0x0d:
          case 0x10:
          case 0xd2:
            r.u32();
            break;
          case 0x0e: {
            const n = r.u32();
            for (let i = 0; i <= n; i++) r.u32();
            break;
          }
          default:
            skipImmediates(r, op);
        }
      }
    } catch (e) {
      if (e instanceof PollRewriteUnsupported)
        return { offset: at, funcIndex: info.importedFuncs + f };
      throw e;
    }
  }
  return undefined;
}
