// Streaming safepoint-poll insertion without Binaryen (docs/commonassembly-aot.md, "Two engines"): adds the
// `nightos.safepoint` import, the `__nightos_ctl` global and export, and the ABI 1.0 polls, by rewriting
// the binary's sections directly. Used for modules that need no Asyncify; valid input is assumed (validated first).

import { ABI_IMPORT_MODULE, CTL_GLOBAL, IMPORT_SAFEPOINT } from "../abi/wasm-names.js";
import { WasmCursor } from "./cursor.js";
import { blockType, skipImmediates } from "./instructions.js";
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

/** A cursor over valid WebAssembly bytes (validated before; bounds are still checked). */
const failUnsupported = (message: string, offset: number): never => {
  throw new PollRewriteUnsupported(`${message} (at byte ${offset})`);
};
type In = WasmCursor;
const cursor = (b: Uint8Array, pos: number, end: number): In =>
  new WasmCursor(b, pos, end, failUnsupported);

/** The ABI 1.0 flag load: `i32.const 0` `i32.atomic.load align=4 offset=0`. */
const LOAD = [0x41, 0x00, 0xfe, 0x10, 0x02, 0x00];

interface Frame {
  /** Labels the rewrite inserted between this frame and its parent (3 for a polled loop). */
  extra: number;
  /** For a polled loop: the block type bytes, re-emitted after its end. */
  loopPoll: boolean;
  /** `extra` summed over this frame and every frame around it (a branch's shift in O(1)). */
  below: number;
}

/**
 * For each loop of the function body at `[pos, end)` (after its locals), in order: true when the loop
 * needs no header poll, because a direct call to a defined function (which polls at its entry) is
 * reached on every path from the header back to it. Same rule as the Binaryen path: the call sits at the
 * loop's level or inside plain blocks only (not an if or a nested loop), no branch before it targets the
 * loop, and no branch before it jumps to the end of a block inside the loop that encloses it.
 *
 * One pass, constant work per instruction (a loop is decided by what happens at its own level, so only
 * the nearest enclosing non-block structure is ever looked at): linear in the body's size whatever the
 * nesting (docs/commonassembly-aot.md, "Loop polls").
 */
export function loopsAlwaysCalling(
  b: Uint8Array,
  pos: number,
  end: number,
  definedFrom: number,
): boolean[] {
  const r = cursor(b, pos, end);
  const decisions: boolean[] = [];
  // One entry per open structure, the function body first (index 0).
  /** 0x02 block, 0x03 loop, 0x04 if; 0 for the function body. */
  const kind: number[] = [0];
  /** The nearest structure at or below this one that is not a plain block. */
  const level: number[] = [0];
  /** For an undecided loop, its index in `decisions`; -1 otherwise (not a loop, or decided). */
  const pending: number[] = [-1];
  /** For a loop: the outermost open block inside it that a branch has left early (Infinity: none). */
  const poison: number[] = [Number.POSITIVE_INFINITY];
  while (r.pos < end) {
    const op = r.byte();
    switch (op) {
      case 0x02:
      case 0x03:
      case 0x04: {
        blockType(r);
        const i = kind.length;
        kind.push(op);
        level.push(op === 0x02 ? (level[i - 1] as number) : i);
        pending.push(op === 0x03 ? decisions.push(false) - 1 : -1);
        poison.push(Number.POSITIVE_INFINITY);
        break;
      }
      case 0x0b: {
        const i = kind.length - 1;
        if (i === 0) return decisions; // the function's end
        // Leaving structure i: a poison it carried for the loop around it is over.
        const around = kind[i] === 0x02 ? (level[i] as number) : (level[i - 1] as number);
        if ((poison[around] as number) >= i) poison[around] = Number.POSITIVE_INFINITY;
        kind.pop();
        level.pop();
        pending.pop();
        poison.pop();
        break;
      }
      case 0x0c:
      case 0x0d:
        branch(r.u32());
        break;
      case 0x0e: {
        const n = r.u32();
        for (let i = 0; i <= n; i++) branch(r.u32());
        break;
      }
      case 0x10: {
        if (r.u32() < definedFrom) break;
        const l = level[kind.length - 1] as number;
        const d = pending[l] as number;
        if (d >= 0 && poison[l] === Number.POSITIVE_INFINITY) {
          decisions[d] = true;
          pending[l] = -1;
        }
        break;
      }
      default:
        skipImmediates(r, op);
    }
  }
  throw new PollRewriteUnsupported("function body without its end");

  function branch(label: number): void {
    const t = kind.length - 1 - label;
    if (t <= 0) return; // the function body (a return) or outside it (invalid)
    if (kind[t] === 0x03) {
      pending[t] = -1; // a loop continued before any call: it keeps its poll
      return;
    }
    // Leaving a block or if early: the loop around it (if any) may skip its call on this iteration.
    const around = kind[t] === 0x02 ? (level[t] as number) : (level[t - 1] as number);
    if (kind[around] === 0x03 && (poison[around] as number) > t) poison[around] = t;
  }
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
  const r = cursor(b, start, end);
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
  const frames: Frame[] = [{ extra: 0, loopPoll: false, below: 0 }];
  const push = (extra: number, loopPoll: boolean): void => {
    const below = (frames[frames.length - 1] as Frame).below + extra;
    frames.push({ extra, loopPoll, below });
  };
  const elide = ctx.polls ? loopsAlwaysCalling(b, r.pos, end, ctx.definedFrom) : [];
  let loopIndex = 0;
  const seenBytes = uleb(seen);
  const spBytes = uleb(ctx.safepoint);
  const depth = (d: number): number => {
    // The labels the rewrite inserted between the branch and its target: the frames it leaves.
    const top = frames[frames.length - 1] as Frame;
    const target = frames[frames.length - 1 - d];
    return d + top.below - (target?.below ?? 0);
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
        blockType(r);
        push(0, false);
        break;
      case 0x03: {
        const bt = blockType(r);
        if (bt >= 0) throw new PollRewriteUnsupported("a loop with a type-index block type");
        if (!ctx.polls) {
          push(0, false);
          break;
        }
        if (elide[loopIndex++] === true) {
          counts.elided++;
          push(0, false);
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
        push(3, true);
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
    out.bytes(r.bytes.subarray(at, r.pos));
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
    const r = cursor(bytes, s.contentOffset, s.contentOffset + s.size);
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
    const r = cursor(b, start, end);
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
    const r = cursor(bytes, body.bodyOffset, end);
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
            blockType(r);
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
