// command.ts — the AssemblyScript SDK's command API: what an app started as a command needs to talk to
// the user (docs/sdk.md). Read the typed arguments of the execution context (applications.md "Execution
// Context", "Values encoding"), print to CMDMSG / CMDERR with colours and styles (shell.md "Text
// output"), read CMDIN / CMDUSR (shell.md "User inputs"), write CMDRAW, return a typed value on CMDOUT
// or fail (applications.md "Returning and failing").
// Hand-written on top of the generated nightos.ts, whose constants (CTX_*, VALUE_*, STYLE_*, …) carry
// every offset and code. Build with `--use abort=<path to this file>/commandAbort` so a failed
// assertion reaches the user on CMDERR and fails the command (docs/sdk.md).

import {
  COMMAND_FAILURE,
  CONTEXT_INFO_ALL,
  CONTEXT_INFO_HEADER,
  CTX_ANID,
  CTX_ARG_COUNT,
  CTX_ARGS_SIZE,
  CTX_BASE_SIZE,
  CTX_CALLER_ANID,
  CTX_CMDERR,
  CTX_CMDIN,
  CTX_CMDMSG,
  CTX_CMDOUT,
  CTX_CMDRAW,
  CTX_CMDUSR,
  CTX_COMMAND_HEADER_SIZE,
  CTX_COMMAND_NAME_MAX,
  CTX_FUTURE_PROOF,
  CTX_STARTUP_REASON,
  executionContext,
  exit,
  MAX_PIPE_MESSAGE_SIZE,
  OK,
  PIPE_MODE_BLOCK,
  PIPE_MODE_PARTIAL,
  PIPE_READ_RET_RESULT,
  pipeRead,
  pipeWrite,
  retU32,
  STARTUP_AFTER_CRASH,
  STARTUP_COMMAND,
  STARTUP_RAW_OUTPUT_READ,
  STYLE_BOLD,
  STYLE_ITALIC,
  STYLE_OVERLINE,
  STYLE_REVERSED,
  STYLE_UNDERLINE,
  TEXT_MESSAGE_HEADER_SIZE,
  USER_INPUT_SIZE,
  VALUE_BOOL,
  VALUE_CHAR,
  VALUE_COMMAND,
  VALUE_FLOAT,
  VALUE_INT,
  VALUE_LIST,
  VALUE_PATH,
  VALUE_STREAM,
  VALUE_STRING,
  VALUE_VOID,
} from "./nightos";

// Static areas, declared first: asc initialises globals in file order.
const KEY_BUF: usize = memory.data(8);

// ---- the execution context ------------------------------------------------------------------------

/** The context as EXECUTION_CONTEXT gave it: header then arguments (0 until first asked). */
let ctx: usize = 0;
let ctxHeaderSize: i32 = 0;
let ctxArgsEnd: usize = 0;

function loadContext(): usize {
  if (ctx !== 0) return ctx;
  // Ask for the header first: its size field says how large the whole context is.
  const header = heap.alloc(<usize>CTX_COMMAND_HEADER_SIZE);
  // Without the context there are no pipes to say so on: just exit with a failure status.
  if (executionContext(CONTEXT_INFO_HEADER, <u64>header) !== OK) exit(1);
  const isCommand = load<u8>(header + <usize>CTX_STARTUP_REASON) >> 4 === STARTUP_COMMAND;
  ctxHeaderSize = isCommand ? CTX_COMMAND_HEADER_SIZE : CTX_BASE_SIZE;
  const argsSize: i32 = isCommand ? <i32>load<u16>(header + <usize>CTX_ARGS_SIZE) : 0;
  const all = heap.alloc(<usize>(ctxHeaderSize + argsSize));
  if (executionContext(CONTEXT_INFO_ALL, <u64>all) !== OK) exit(1);
  ctx = all;
  ctxArgsEnd = all + <usize>(ctxHeaderSize + argsSize);
  return ctx;
}

/** The startup reason's code (STARTUP_COMMAND, STARTUP_POST_INSTALL, …). */
export function startupCode(): u8 {
  return load<u8>(loadContext() + <usize>CTX_STARTUP_REASON) >> 4;
}
/** True when the app was started as one of its commands: only then do the pipes and arguments exist. */
export function isCommand(): bool {
  return startupCode() === STARTUP_COMMAND;
}
/** Restarted after a crash (startup reason bit 4): sys::crashsave holds a crash save. */
export function startedAfterCrash(): bool {
  return (load<u8>(loadContext() + <usize>CTX_STARTUP_REASON) & STARTUP_AFTER_CRASH) !== 0;
}
/** Whether what the app writes on CMDRAW will be read (startup reason bit 5). */
export function rawOutputRead(): bool {
  return (load<u8>(loadContext() + <usize>CTX_STARTUP_REASON) & STARTUP_RAW_OUTPUT_READ) !== 0;
}
/** The app's own ANID. */
export function anid(): u32 {
  return load<u32>(loadContext() + <usize>CTX_ANID);
}
/** The ANID of the app that called the command (0: the shell). */
export function callerAnid(): u32 {
  return isCommand() ? load<u32>(ctx + <usize>CTX_CALLER_ANID) : 0;
}

function pipeId(offset: i32): u64 {
  return isCommand() ? load<u64>(ctx + <usize>offset) : 0;
}
/** The command pipes' identifiers (0 when the app was not started as a command). */
export function cmdinId(): u64 {
  return pipeId(CTX_CMDIN);
}
export function cmdusrId(): u64 {
  return pipeId(CTX_CMDUSR);
}
export function cmdmsgId(): u64 {
  return pipeId(CTX_CMDMSG);
}
export function cmderrId(): u64 {
  return pipeId(CTX_CMDERR);
}
export function cmdrawId(): u64 {
  return pipeId(CTX_CMDRAW);
}
export function cmdoutId(): u64 {
  return pipeId(CTX_CMDOUT);
}

/**
 * The name of the manifest command the app was started for ("" if none): NCW's addition at the start
 * of the context's future-proof space (docs/kernel.md), so an app that exposes several commands can
 * tell them apart.
 */
export function commandName(): string {
  if (!isCommand()) return "";
  const n = load<u8>(ctx + <usize>CTX_FUTURE_PROOF);
  if (<i32>n > CTX_COMMAND_NAME_MAX) return "";
  return String.UTF8.decodeUnsafe(ctx + <usize>CTX_FUTURE_PROOF + 1, <usize>n);
}

/** How many arguments the command was given. */
export function argCount(): i32 {
  return isCommand() ? <i32>load<u8>(ctx + <usize>CTX_ARG_COUNT) : 0;
}

/** Argument `i` (0-based), as a typed value. A missing one is a fatal error: check argCount() first. */
export function arg(i: i32): Value {
  const n = argCount();
  if (i < 0 || i >= n) fatal(`argument ${i} asked, the command has ${n}`);
  let at = ctx + <usize>ctxHeaderSize;
  for (let k = 0; k < i; k++) at = valueEnd(at);
  const end = valueEnd(at);
  return new Value(load<u8>(at + 8), at + 9, end);
}

/** Where the encoded value at `at` ends: its 8-byte length counts the type code and representation. */
function valueEnd(at: usize): usize {
  if (at + 9 > ctxArgsEnd) fatal("the argument block is truncated");
  const len = load<u64>(at);
  if (len < 1 || len > <u64>(ctxArgsEnd - at - 8)) fatal("an argument's length exceeds the block");
  return at + 8 + <usize>len;
}

/** The size of the representation of a value of `type` at `at` (lists: their items, each typed). */
function reprSize(type: u8, at: usize, end: usize): usize {
  let size: usize = 0;
  if (type === VALUE_VOID) size = 0;
  else if (type === VALUE_BOOL) size = 1;
  else if (type === VALUE_INT || type === VALUE_FLOAT || type === VALUE_STREAM) size = 8;
  else if (type === VALUE_CHAR) size = 4;
  else if (type === VALUE_STRING || type === VALUE_PATH || type === VALUE_COMMAND) {
    if (at + 8 > end) fatal("a string value is truncated");
    const n = load<u64>(at);
    if (n > <u64>(end - at - 8)) fatal("a string value is truncated");
    size = 8 + <usize>n;
  } else if (type === VALUE_LIST) {
    if (at + 8 > end) fatal("a list value is truncated");
    const n = load<u64>(at);
    let p = at + 8;
    for (let k: u64 = 0; k < n; k++) {
      if (p >= end) fatal("a list value is truncated");
      p += 1 + reprSize(load<u8>(p), p + 1, end);
    }
    size = p - at;
  } else fatal(`unknown value type code ${type}`);
  if (at + size > end) fatal("a value is truncated");
  return size;
}

/** One typed value of the arguments (or a list item): its type code and its representation. */
export class Value {
  constructor(
    /** The type code: VALUE_BOOL, VALUE_INT, … */
    readonly type: u8,
    private readonly at: usize,
    private readonly end: usize,
  ) {}

  private expect(type: u8, what: string): void {
    if (this.type !== type) fatal(`expected ${what} value, got type code ${this.type}`);
  }
  isVoid(): bool {
    return this.type === VALUE_VOID;
  }
  asBool(): bool {
    this.expect(VALUE_BOOL, "a bool");
    return load<u8>(this.at) !== 0;
  }
  asInt(): i64 {
    this.expect(VALUE_INT, "an int");
    return load<i64>(this.at);
  }
  asFloat(): f64 {
    this.expect(VALUE_FLOAT, "a float");
    return load<f64>(this.at);
  }
  /** A char's Unicode code point (UTF-32). */
  asChar(): u32 {
    this.expect(VALUE_CHAR, "a char");
    return load<u32>(this.at);
  }
  /** A string, path or command value. */
  asString(): string {
    if (this.type !== VALUE_STRING && this.type !== VALUE_PATH && this.type !== VALUE_COMMAND)
      fatal(`expected a string value, got type code ${this.type}`);
    const n = <usize>load<u64>(this.at);
    return String.UTF8.decodeUnsafe(this.at + 8, n);
  }
  /** A stream value: the RC identifier of the pipe to read. */
  asStream(): u64 {
    this.expect(VALUE_STREAM, "a stream");
    return load<u64>(this.at);
  }
  /** A list's number of items. */
  get length(): i32 {
    this.expect(VALUE_LIST, "a list");
    return <i32>load<u64>(this.at);
  }
  /** A list's item `i`. */
  item(i: i32): Value {
    const n = this.length;
    if (i < 0 || i >= n) fatal(`list item ${i} asked, the list has ${n}`);
    let p = this.at + 8;
    for (let k = 0; k < i; k++) p += 1 + reprSize(load<u8>(p), p + 1, this.end);
    const type = load<u8>(p);
    return new Value(type, p + 1, p + 1 + reprSize(type, p + 1, this.end));
  }
  /** A list's items, in one pass (item(i) walks the list from its start each time). */
  items(): Value[] {
    const n = this.length;
    const out = new Array<Value>(0);
    let p = this.at + 8;
    for (let k = 0; k < n; k++) {
      const type = load<u8>(p);
      const end = p + 1 + reprSize(type, p + 1, this.end);
      out.push(new Value(type, p + 1, end));
      p = end;
    }
    return out;
  }
  /** A list of strings (or paths, commands) as an array. */
  asStrings(): string[] {
    const items = this.items();
    const out = new Array<string>(items.length);
    for (let i = 0; i < items.length; i++) out[i] = items[i].asString();
    return out;
  }
}

// ---- writing to the pipes ---------------------------------------------------------------------------

/** Writes all of `len` bytes at `src` to the pipe `sc`, blocking for room; false if the pipe is gone. */
function writeAll(sc: u64, src: usize, len: usize): bool {
  while (len > 0) {
    const chunk = len > <usize>MAX_PIPE_MESSAGE_SIZE ? <usize>MAX_PIPE_MESSAGE_SIZE : len;
    if (pipeWrite(sc, <u32>chunk, <u64>src, PIPE_MODE_BLOCK) !== OK) return false;
    src += chunk;
    len -= chunk;
  }
  return true;
}

/** The look of a text message: colours (0xRRGGBB; 0 keeps the current one), style bits, cursor moves. */
export class Style {
  fg: u32 = 0;
  bg: u32 = 0;
  flags: u8 = 0;
  /** Control characters, each (code << 8) | count: sent before the text. */
  controls: u16[] = [];

  static plain(): Style {
    return new Style();
  }
  static color(rgb: u32): Style {
    const s = new Style();
    s.fg = rgb;
    return s;
  }
  background(rgb: u32): Style {
    this.bg = rgb;
    return this;
  }
  /** Adds style bits (STYLE_BOLD | STYLE_ITALIC, …). */
  with(flags: u8): Style {
    this.flags |= flags;
    return this;
  }
  bold(): Style {
    return this.with(STYLE_BOLD);
  }
  italic(): Style {
    return this.with(STYLE_ITALIC);
  }
  underline(): Style {
    return this.with(STYLE_UNDERLINE);
  }
  overline(): Style {
    return this.with(STYLE_OVERLINE);
  }
  reversed(): Style {
    return this.with(STYLE_REVERSED);
  }
  /** Moves the cursor before the text: CONTROL_UP / LEFT / RIGHT / DOWN `count` times, LINE_START. */
  control(code: u8, count: u8 = 0): Style {
    this.controls.push(((<u16>code) << 8) | <u16>count);
    return this;
  }
}

/**
 * Encodes one text message (shell.md "Text output"): fg RGB, bg RGB, style, control count, the controls
 * (code byte then data byte), then the UTF-8 text; print() and printError() send it. At most 255
 * control characters (the count is one byte): the rest are left out.
 */
export function encodeMessage(style: Style, text: usize, textLen: usize): Uint8Array {
  const n = min(style.controls.length, 255);
  const out = new Uint8Array(TEXT_MESSAGE_HEADER_SIZE + 2 * n + <i32>textLen);
  out[0] = <u8>(style.fg >> 16);
  out[1] = <u8>(style.fg >> 8);
  out[2] = <u8>style.fg;
  out[3] = <u8>(style.bg >> 16);
  out[4] = <u8>(style.bg >> 8);
  out[5] = <u8>style.bg;
  out[6] = style.flags;
  out[7] = <u8>n;
  for (let i = 0; i < n; i++) {
    const c = unchecked(style.controls[i]);
    out[TEXT_MESSAGE_HEADER_SIZE + 2 * i] = <u8>(c >> 8);
    out[TEXT_MESSAGE_HEADER_SIZE + 2 * i + 1] = <u8>c;
  }
  memory.copy(out.dataStart + <usize>(TEXT_MESSAGE_HEADER_SIZE + 2 * n), text, textLen);
  return out;
}

/** Sends `text` as messages on a message pipe, split at character boundaries to fit one message each. */
function sendText(sc: u64, text: string, given: Style | null): bool {
  const style = given === null ? new Style() : given;
  // The messages after the first keep the look, not the cursor moves.
  const rest = new Style();
  rest.fg = style.fg;
  rest.bg = style.bg;
  rest.flags = style.flags;
  const utf8 = String.UTF8.encode(text);
  const start = changetype<usize>(utf8);
  const total = <usize>utf8.byteLength;
  const room = <usize>(
    (MAX_PIPE_MESSAGE_SIZE - TEXT_MESSAGE_HEADER_SIZE - 2 * min(style.controls.length, 255))
  );
  let off: usize = 0;
  do {
    // biome-ignore lint/complexity/useMathMinMax: AssemblyScript usize arithmetic, not f64
    let len = total - off > room ? room : total - off;
    // Never cut a UTF-8 sequence: back up to the start of the character.
    while (off + len < total && (load<u8>(start + off + len) & 0xc0) === 0x80) len--;
    const msg = encodeMessage(off === 0 ? style : rest, start + off, len);
    if (pipeWrite(sc, <u32>msg.length, <u64>msg.dataStart, PIPE_MODE_BLOCK) !== OK) return false;
    off += len;
  } while (off < total);
  return true;
}

/** Prints `text` on CMDMSG (no newline is added). False if there is no CMDMSG. */
export function print(text: string, style: Style | null = null): bool {
  return sendText(cmdmsgId(), text, style);
}
/** Prints `text` and a newline on CMDMSG. */
export function println(text: string, style: Style | null = null): bool {
  return sendText(cmdmsgId(), text + "\n", style);
}
/** Prints `text` on CMDERR, the error messages. */
export function printError(text: string, style: Style | null = null): bool {
  return sendText(cmderrId(), text, style);
}
/** Prints `text` and a newline on CMDERR. */
export function printlnError(text: string, style: Style | null = null): bool {
  return sendText(cmderrId(), text + "\n", style);
}

/** Writes raw bytes on CMDRAW (see rawOutputRead()). False if CMDRAW is closed or absent. */
export function writeRaw(data: Uint8Array): bool {
  return writeAll(cmdrawId(), data.dataStart, <usize>data.length);
}
/** Writes a string's UTF-8 bytes on CMDRAW. */
export function writeRawString(text: string): bool {
  const utf8 = String.UTF8.encode(text);
  return writeAll(cmdrawId(), changetype<usize>(utf8), <usize>utf8.byteLength);
}

// ---- reading the pipes ------------------------------------------------------------------------------

/**
 * Reads CMDIN into `into`: waits for data, then takes what is there (up to its length). Returns the
 * number of bytes read, 0 at the end of the input (CMDIN closed, or no CMDIN).
 */
export function readInput(into: Uint8Array): i32 {
  return readSome(cmdinId(), into.dataStart, into.length);
}

function readSome(rc: u64, dst: usize, len: i32): i32 {
  if (len <= 0) return 0;
  // Take what is pending; if nothing is, block for one byte, then take the rest that came with it.
  let s = pipeRead(rc, PIPE_MODE_PARTIAL, <u64>dst, <u64>len);
  if (s !== OK) return 0;
  let got = <i32>retU32(PIPE_READ_RET_RESULT);
  if (got > 0) return got;
  s = pipeRead(rc, PIPE_MODE_BLOCK, <u64>dst, 1);
  // Closed (PIPE_READ_ERR_RC_CLOSED) before the one byte came: the end.
  if (s !== OK) return 0;
  if (len === 1) return 1;
  s = pipeRead(rc, PIPE_MODE_PARTIAL, <u64>(dst + 1), <u64>(len - 1));
  got = s === OK ? <i32>retU32(PIPE_READ_RET_RESULT) : 0;
  return 1 + got;
}

/** Reads all of CMDIN (until it closes), kept in memory: for a large input, read it with readInput. */
export function readAllInput(): Uint8Array {
  let buf = new Uint8Array(65536);
  let used = 0;
  while (true) {
    if (used === buf.length) {
      const bigger = new Uint8Array(buf.length * 2);
      bigger.set(buf);
      buf = bigger;
    }
    const n = readSome(cmdinId(), buf.dataStart + <usize>used, buf.length - used);
    if (n === 0) break;
    used += n;
  }
  return buf.subarray(0, used);
}

/**
 * The command's typed input (its manifest's `cmdin`, docs/cli.md "Typed input"): CMDIN read to its end,
 * one encoded value. Null when no value came (an empty input, or none). Bytes that are not exactly one
 * value are a fatal error. A `stream` input is read with readInput instead.
 */
export function inputValue(): Value | null {
  const bytes = readAllInput();
  if (bytes.length === 0) return null;
  // The Value points into `bytes`, which the stub runtime never frees (docs/sdk.md "Memory").
  const at = bytes.dataStart;
  const end = at + <usize>bytes.length;
  if (bytes.length < 9 || load<u64>(at) !== <u64>(bytes.length - 8))
    fatal("the input is not one value");
  const type = load<u8>(at + 8);
  if (reprSize(type, at + 9, end) !== end - at - 9) fatal("the input is not one value");
  return new Value(type, at + 9, end);
}

/** One user input of CMDUSR (shell.md "User inputs"). */
export class Key {
  constructor(
    /** KEY_COMMAND | KEY_CTRL | KEY_ALT | KEY_SHIFT | … */
    readonly modifiers: u8,
    readonly keycode: u8,
    /** The printable character's code point, 0 if the key has none. */
    readonly char: u32,
  ) {}
  has(modifier: u8): bool {
    return (this.modifiers & modifier) !== 0;
  }
}

/** Waits for the next user input on CMDUSR; null once CMDUSR is closed (or absent). */
export function readKey(): Key | null {
  const s = pipeRead(cmdusrId(), PIPE_MODE_BLOCK, <u64>KEY_BUF, <u64>USER_INPUT_SIZE);
  if (s !== OK || retU32(PIPE_READ_RET_RESULT) !== <u32>USER_INPUT_SIZE) return null;
  return new Key(load<u8>(KEY_BUF), load<u8>(KEY_BUF + 1), utf8CodePoint(KEY_BUF + 2));
}

/** The code point of the UTF-8 character in the 4 bytes at `p` (0 when the first byte is 0). */
function utf8CodePoint(p: usize): u32 {
  const b0 = <u32>load<u8>(p);
  if (b0 < 0x80) return b0;
  const b1 = <u32>load<u8>(p + 1) & 0x3f;
  if (b0 < 0xe0) return ((b0 & 0x1f) << 6) | b1;
  const b2 = <u32>load<u8>(p + 2) & 0x3f;
  if (b0 < 0xf0) return ((b0 & 0x0f) << 12) | (b1 << 6) | b2;
  return ((b0 & 0x07) << 18) | (b1 << 12) | (b2 << 6) | (<u32>load<u8>(p + 3) & 0x3f);
}

// ---- the typed result -------------------------------------------------------------------------------

/** Builds encoded values (applications.md "Values encoding"): a value, or a list's typed items. */
export class ValueWriter {
  private buf: Uint8Array = new Uint8Array(64);
  private used: i32 = 0;

  private room(n: i32): usize {
    if (this.used + n > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < this.used + n) size *= 2;
      const bigger = new Uint8Array(size);
      bigger.set(this.buf.subarray(0, this.used));
      this.buf = bigger;
    }
    const at = this.buf.dataStart + <usize>this.used;
    this.used += n;
    return at;
  }
  type(code: u8): ValueWriter {
    store<u8>(this.room(1), code);
    return this;
  }
  bool(v: bool): ValueWriter {
    store<u8>(this.room(1), v ? 1 : 0);
    return this;
  }
  int(v: i64): ValueWriter {
    store<i64>(this.room(8), v);
    return this;
  }
  float(v: f64): ValueWriter {
    store<f64>(this.room(8), v);
    return this;
  }
  char(codePoint: u32): ValueWriter {
    store<u32>(this.room(4), codePoint);
    return this;
  }
  string(v: string): ValueWriter {
    const utf8 = String.UTF8.encode(v);
    const n = utf8.byteLength;
    store<u64>(this.room(8), <u64>n);
    memory.copy(this.room(n), changetype<usize>(utf8), <usize>n);
    return this;
  }
  u64(v: u64): ValueWriter {
    store<u64>(this.room(8), v);
    return this;
  }
  append(data: Uint8Array): ValueWriter {
    memory.copy(this.room(data.length), data.dataStart, <usize>data.length);
    return this;
  }
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.used);
  }
}

/** A list being built: add typed items, then returnList() (or nest it with addList()). */
export class List {
  private readonly w: ValueWriter = new ValueWriter();
  private count: u64 = 0;

  addBool(v: bool): List {
    this.w.type(VALUE_BOOL).bool(v);
    this.count++;
    return this;
  }
  addInt(v: i64): List {
    this.w.type(VALUE_INT).int(v);
    this.count++;
    return this;
  }
  addFloat(v: f64): List {
    this.w.type(VALUE_FLOAT).float(v);
    this.count++;
    return this;
  }
  addChar(codePoint: u32): List {
    this.w.type(VALUE_CHAR).char(codePoint);
    this.count++;
    return this;
  }
  addString(v: string): List {
    this.w.type(VALUE_STRING).string(v);
    this.count++;
    return this;
  }
  addPath(v: string): List {
    this.w.type(VALUE_PATH).string(v);
    this.count++;
    return this;
  }
  addList(v: List): List {
    this.w.type(VALUE_LIST);
    v.reprInto(this.w);
    this.count++;
    return this;
  }
  /** The list's representation: the item count, then the typed items. */
  reprInto(w: ValueWriter): void {
    w.u64(this.count).append(this.w.bytes());
  }
}

/** Encodes one value: its 8-byte length (type code + representation), its type code, its representation. */
export function encodeValue(type: u8, repr: ValueWriter | null): Uint8Array {
  const body = repr === null ? new Uint8Array(0) : repr.bytes();
  return new ValueWriter()
    .u64(<u64>(1 + body.length))
    .type(type)
    .append(body)
    .bytes();
}

/** Sends one encoded value on CMDOUT (the whole value: the shell reads it to its end). */
function sendValue(type: u8, repr: ValueWriter | null): bool {
  const out = encodeValue(type, repr);
  return writeAll(cmdoutId(), out.dataStart, <usize>out.length);
}

export function returnVoid(): bool {
  return sendValue(VALUE_VOID, null);
}
export function returnBool(v: bool): bool {
  return sendValue(VALUE_BOOL, new ValueWriter().bool(v));
}
export function returnInt(v: i64): bool {
  return sendValue(VALUE_INT, new ValueWriter().int(v));
}
export function returnFloat(v: f64): bool {
  return sendValue(VALUE_FLOAT, new ValueWriter().float(v));
}
export function returnChar(codePoint: u32): bool {
  return sendValue(VALUE_CHAR, new ValueWriter().char(codePoint));
}
export function returnString(v: string): bool {
  return sendValue(VALUE_STRING, new ValueWriter().string(v));
}
export function returnPath(v: string): bool {
  return sendValue(VALUE_PATH, new ValueWriter().string(v));
}
export function returnCommand(v: string): bool {
  return sendValue(VALUE_COMMAND, new ValueWriter().string(v));
}
export function returnStream(rc: u64): bool {
  return sendValue(VALUE_STREAM, new ValueWriter().u64(rc));
}
export function returnList(v: List): bool {
  const w = new ValueWriter();
  v.reprInto(w);
  return sendValue(VALUE_LIST, w);
}

/**
 * Fails the command: "the 0xFF value" on CMDOUT, as NCW reads it (docs/ipc.md "Command pipes"): a value
 * of type code 0xFF without representation. The shell reports a failed, not a faulty, command.
 */
export function fail(): bool {
  return sendValue(<u8>COMMAND_FAILURE, null);
}

/** Prints `message` on CMDERR, fails the command and exits: what the SDK does when it cannot go on. */
export function fatal(message: string): void {
  printlnError(message);
  fail();
  exit(1);
}

/** The abort handler (asc `--use abort=…/command/commandAbort`): a failed assertion fails the command. */
export function commandAbort(
  message: string | null,
  fileName: string | null,
  line: u32,
  column: u32,
): void {
  const what = message === null ? "abort" : message;
  const where = fileName === null ? "" : ` (${fileName}:${line}:${column})`;
  fatal(`${what}${where}`);
}
