// The kernel server's control protocol (docs/kernel.md, "Control protocol"): messages between the CLI
// and the kernel over a Unix socket / named pipe, and between the kernel and its runners over the
// runner's IPC channel. Frames on the socket: u32 LE length, then a V8-serialized message (structured
// clone: BigInt and Uint8Array travel as themselves).

import { deserialize, serialize } from "node:v8";
import type { WasmFrame } from "./runner/faults.js";

/** 2: `run` carries the NightOS user (a kernel speaking 1 would use its own NCW_USER). */
export const PROTOCOL_VERSION = 2;
/** Largest frame accepted on the socket (a program's bytes travel inside `run`). */
export const MAX_FRAME = 512 * 1024 * 1024;

/** How a NightOS process ended. */
export type Outcome =
  | { kind: "exit"; exitData: bigint }
  | {
      kind: "killed";
      reason: string;
      signal?: number;
      /** A trap's WebAssembly frames, innermost first (kernel-compat/runner/faults.ts). */
      backtrace?: WasmFrame[];
    };

export interface ProcessInfo {
  pid: number;
  ppid: number;
  name: string;
  kind: "system" | "app";
  state: "reserved" | "starting" | "running" | "suspended" | "terminating" | "exited";
  user: number;
  anid: number;
  priority: number;
  hostPid: number | undefined;
  startedAt: number;
}

/** CLI → kernel. */
export type ClientMessage =
  | { t: "hello"; version: number }
  | {
      t: "run";
      /**
       * The program or package to run, as an absolute host path: the kernel resolves and AOT-compiles
       * it (it keeps the compiler loaded, so a warm `ncw run` does not pay for loading it).
       */
      path: string;
      /**
       * The NightOS user the request acts for (the caller's NCW_USER, else the default user): whose
       * install an AID names. The kernel trusts it because the connection's host user, checked on
       * connect, owns the home and every NightOS user in it (docs/security.md).
       */
      user: string;
      /** The execution context bytes (header + arguments). */
      context: Uint8Array;
      anid: number;
      trace: boolean;
      /** Initial priority 0–10 (docs/kernel.md, "Priorities"). */
      priority: number;
    }
  | { t: "signal"; pid: number; signal: number }
  | { t: "kill"; pid: number }
  | { t: "priority"; pid: number; priority: number }
  | { t: "ps" }
  | { t: "shutdown" };

/** Kernel → CLI. */
export type KernelMessage =
  | { t: "hello"; version: number; kernelPid: number; startedAt: number }
  | { t: "started"; pid: number; hostPid: number; name: string }
  | { t: "trace"; pid: number; line: string }
  | { t: "exited"; pid: number; outcome: Outcome }
  | { t: "ps"; processes: ProcessInfo[] }
  | { t: "ok" }
  | { t: "error"; code: string; message: string; kind?: string; hint?: string };

/** Kernel → runner (IPC channel). */
export type ToRunner =
  | {
      t: "start";
      pid: number;
      ppid: number;
      wasm: Uint8Array;
      context: Uint8Array;
      trace: boolean;
      /** The registry values the runner needs (system.processes.*), in ms. */
      delays: { suspend: number; terminate: number };
      priority: number;
      /** For a forked child: the parent's memory and globals to start from. */
      fork?: ForkImage;
    }
  | { t: "signal"; signal: number; datafield: Uint8Array }
  | { t: "reply"; id: number; errcode: number | null; ret: Uint8Array }
  | { t: "suspend" }
  | { t: "resume" }
  | { t: "priority"; priority: number }
  /** The kernel passed `n` more of the runner's `trace` lines to the CLI's socket (the trace window). */
  | { t: "trace-ack"; n: number }
  /** An idle pool runner compiles this module ahead of a likely CREATE_PROCESS (docs/kernel.md). */
  | { t: "precompile"; wasm: Uint8Array };

export interface ForkImage {
  memory: Uint8Array;
  globals: Record<string, number | bigint>;
  initData: bigint;
  /** MEM_ALLOC's bookkeeping, so the child can free what the parent allocated. */
  pages: { allocated: [number, number][]; free: number[] };
  /** The TLS slot table and the calling thread's values (docs/kernel.md "CREATE_PROCESS"). */
  tls?: TlsImage;
}

export interface TlsImage {
  /** The process-wide slot table: [generation counter, state of slot 1..N]. */
  slots: Int32Array;
  /** The calling thread's values: slot, generation it was written for, bytes. */
  values: [bigint, number, Uint8Array][];
}

/** Runner → kernel. */
export type FromRunner =
  | { t: "ready" }
  /** The module is instantiated (and, for a fork child, its image copied): `_start` runs next. */
  | { t: "running" }
  | { t: "syscall"; id: number; req: Uint8Array; fork?: ForkImage }
  /** A trace line of the process' threads: counted in its trace window until the kernel acknowledges it. */
  | { t: "trace"; line: string }
  /** A trace line of the runner itself (not counted, never acknowledged). */
  | { t: "note"; line: string }
  | { t: "handled"; signals: number[] }
  /** The last message: sent once every trace line before it is on the channel. */
  | { t: "exit"; outcome: Outcome };

export function encodeFrame(msg: ClientMessage | KernelMessage): Buffer {
  const body = serialize(msg);
  const head = Buffer.alloc(4);
  head.writeUInt32LE(body.length, 0);
  return Buffer.concat([head, body]);
}

/** Accumulates socket bytes and yields whole messages; throws on an oversize or undecodable frame. */
export class FrameReader<T> {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): T[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: T[] = [];
    while (this.buf.length >= 4) {
      const len = this.buf.readUInt32LE(0);
      if (len > MAX_FRAME) throw new Error(`control frame of ${len} bytes exceeds the limit`);
      if (this.buf.length < 4 + len) break;
      const body = this.buf.subarray(4, 4 + len);
      this.buf = this.buf.subarray(4 + len);
      const msg = deserialize(body) as unknown;
      if (
        typeof msg !== "object" ||
        msg === null ||
        typeof (msg as { t?: unknown }).t !== "string"
      ) {
        throw new Error("control frame is not a message");
      }
      out.push(msg as T);
    }
    return out;
  }
}
