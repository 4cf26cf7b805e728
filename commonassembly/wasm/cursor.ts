// The one bounds-checked decoder of WebAssembly binary values (core spec, "Binary Format > Values"):
// bytes, strict LEB128 integers, names. Every user (reader, poll rewriter, AOT steps, the fault decoder)
// plugs in its own error, so a malformed byte reads as that user's error value.

/** How a cursor reports malformed input: never returns (throws the user's error). */
export type CursorFail = (message: string, offset: number) => never;

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** A cursor over `bytes[pos, end)`; reading past `end` or a malformed value calls `fail`. */
export class WasmCursor {
  constructor(
    readonly bytes: Uint8Array,
    public pos: number,
    readonly end: number,
    readonly onFail: CursorFail,
  ) {}

  fail(message: string, at = this.pos): never {
    return this.onFail(message, at);
  }

  byte(what = "input"): number {
    if (this.pos >= this.end) this.fail(`unexpected end of ${what}`);
    return this.bytes[this.pos++] as number;
  }

  /** The next byte without consuming it (undefined at the end). */
  peek(): number | undefined {
    return this.pos < this.end ? this.bytes[this.pos] : undefined;
  }

  /**
   * An unsigned LEB128 of at most `bits` bits (32 or 64; values above 2^53 lose precision): at most
   * ceil(bits/7) bytes, and the unused high bits of the last one must be zero (the spec's rule).
   */
  uleb(bits: 32 | 64, what = "integer"): number {
    const start = this.pos;
    const maxBytes = Math.ceil(bits / 7);
    let result = 0;
    let mul = 1;
    for (let i = 0; i < maxBytes; i++) {
      const b = this.byte(what);
      if (i === maxBytes - 1) {
        const unused = (0x7f << (bits - 7 * i)) & 0x7f;
        if ((b & 0x80) !== 0) this.fail(`${what}: LEB128 longer than ${maxBytes} bytes`, start);
        if ((b & unused) !== 0)
          this.fail(`${what}: LEB128 u${bits} out of range (unused bits set)`, start);
      }
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    return this.fail(`${what}: LEB128 longer than ${maxBytes} bytes`, start);
  }

  u32(what = "integer"): number {
    return this.uleb(32, what);
  }

  /**
   * A signed LEB128 of at most `bits` bits, as a number (exact for 32 bits; for 64 bits exact up to
   * 2^53 in magnitude). The unused bits of the last byte must all equal the sign bit.
   */
  sleb(bits: 32 | 64, what = "integer"): number {
    const start = this.pos;
    const maxBytes = Math.ceil(bits / 7);
    let result = 0;
    let mul = 1;
    for (let i = 0; i < maxBytes; i++) {
      const b = this.byte(what);
      const last = i === maxBytes - 1;
      if (last) {
        if ((b & 0x80) !== 0) this.fail(`${what}: LEB128 longer than ${maxBytes} bytes`, start);
        // The value bits beyond `bits`, plus the sign bit itself: all zeros or all ones.
        const signAndUnused = (0x7f << (bits - 1 - 7 * i)) & 0x7f;
        const got = b & signAndUnused;
        if (got !== 0 && got !== signAndUnused)
          this.fail(
            `${what}: LEB128 s${bits} out of range (unused bits differ from the sign)`,
            start,
          );
      }
      result += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) return (b & 0x40) !== 0 ? result - mul : result;
    }
    return this.fail(`${what}: LEB128 longer than ${maxBytes} bytes`, start);
  }

  s32(what = "integer"): number {
    return this.sleb(32, what);
  }

  /** Skips `n` bytes (bounds checked). */
  skip(n: number, what = "input"): void {
    if (n < 0 || this.end - this.pos < n) this.fail(`unexpected end of ${what}`);
    this.pos += n;
  }

  /** The next `n` bytes (a view, bounds checked). */
  take(n: number, what = "input"): Uint8Array {
    const start = this.pos;
    this.skip(n, what);
    return this.bytes.subarray(start, start + n);
  }

  /** A name: its byte length (u32), then that many bytes of UTF-8. */
  name(what = "name"): string {
    const len = this.u32(`${what} length`);
    const start = this.pos;
    const b = this.take(len, what);
    try {
      return utf8.decode(b);
    } catch {
      return this.fail(`${what} is not valid UTF-8`, start);
    }
  }
}
