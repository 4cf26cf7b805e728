// LEB128 and name encoders for the small WebAssembly binary writers of the AOT step and `ncw ca asm`
// (WebAssembly core spec, "Binary format > Values > Integers" and "Names").

/** Unsigned LEB128 of a non-negative integer up to 2^53. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 of a 32-bit integer (as used by `i32.const`). */
export function sleb32(n: number): number[] {
  const out: number[] = [];
  let v = n | 0;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const utf8 = new TextEncoder();

/** A name as the binary format stores it: its UTF-8 length (unsigned LEB128), then the bytes. */
export function wasmName(s: string): number[] {
  const bytes = utf8.encode(s);
  return [...uleb(bytes.length), ...bytes];
}
