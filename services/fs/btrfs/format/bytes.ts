// Bounds-checked little-endian cursors used by every Btrfs on-disk codec in this folder.

import { NcwError } from "../../../../ncw/errors.js";

export class ByteReader {
  private readonly dv: DataView;
  pos: number;

  constructor(
    readonly buf: Uint8Array,
    /** What is being decoded, for error messages ("inode item"). */
    readonly what: string,
    start = 0,
  ) {
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = start;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  need(n: number): void {
    if (n < 0 || this.pos + n > this.buf.length) {
      throw new NcwError(
        "data",
        `btrfs ${this.what}: needs ${n} bytes at offset ${this.pos} but only ${this.buf.length - this.pos} remain`,
        { code: "BTRFS_ITEM_TRUNCATED", hint: "The image is damaged; run `ncw fs check` on it." },
      );
    }
  }

  u8(): number {
    this.need(1);
    return this.dv.getUint8(this.pos++);
  }
  u16(): number {
    this.need(2);
    const v = this.dv.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.dv.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  u64(): bigint {
    this.need(8);
    const v = this.dv.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const v = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }
  /** Throws unless every byte was consumed (codecs reject trailing bytes). */
  end(): void {
    if (this.pos !== this.buf.length) {
      throw new NcwError(
        "data",
        `btrfs ${this.what}: ${this.buf.length - this.pos} unexpected trailing bytes`,
        { code: "BTRFS_ITEM_TRAILING", hint: "The image is damaged; run `ncw fs check` on it." },
      );
    }
  }
}

export class ByteWriter {
  readonly buf: Uint8Array;
  private readonly dv: DataView;
  pos = 0;

  constructor(
    size: number,
    readonly what: string,
  ) {
    this.buf = new Uint8Array(size);
    this.dv = new DataView(this.buf.buffer);
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) {
      throw new NcwError(
        "data",
        `btrfs ${this.what}: encoding overflows ${this.buf.length} bytes`,
        {
          code: "BTRFS_ITEM_ENCODE",
        },
      );
    }
  }
  u8(v: number): this {
    this.need(1);
    this.dv.setUint8(this.pos++, v);
    return this;
  }
  u16(v: number): this {
    this.need(2);
    this.dv.setUint16(this.pos, v, true);
    this.pos += 2;
    return this;
  }
  u32(v: number): this {
    this.need(4);
    this.dv.setUint32(this.pos, v >>> 0, true);
    this.pos += 4;
    return this;
  }
  u64(v: bigint): this {
    this.need(8);
    this.dv.setBigUint64(this.pos, BigInt.asUintN(64, v), true);
    this.pos += 8;
    return this;
  }
  bytes(b: Uint8Array, fixedLen?: number): this {
    const n = fixedLen ?? b.length;
    if (b.length > n) {
      throw new NcwError("data", `btrfs ${this.what}: a ${b.length}-byte field where ${n} fit`, {
        code: "BTRFS_ITEM_ENCODE",
      });
    }
    this.need(n);
    this.buf.set(b, this.pos);
    this.pos += n;
    return this;
  }
  zeros(n: number): this {
    this.need(n);
    this.pos += n;
    return this;
  }
  /** The encoded bytes; throws if fewer than the declared size were written. */
  done(): Uint8Array {
    if (this.pos !== this.buf.length) {
      throw new NcwError(
        "data",
        `btrfs ${this.what}: encoded ${this.pos} of ${this.buf.length} bytes`,
        {
          code: "BTRFS_ITEM_ENCODE",
        },
      );
    }
    return this.buf;
  }
}

/** "33657e15-f6f7-407e-8c60-43cb8313ff5b" for a 16-byte uuid. */
export function formatUuid(u: Uint8Array): string {
  const h = Array.from(u, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export function parseUuid(s: string): Uint8Array {
  const h = s.replaceAll("-", "");
  if (!/^[0-9a-fA-F]{32}$/.test(h)) {
    throw new NcwError("usage", `not a uuid: ${JSON.stringify(s)}`, { code: "BTRFS_BAD_UUID" });
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = Number.parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function randomUuid(): Uint8Array {
  const u = crypto.getRandomValues(new Uint8Array(16));
  u[6] = ((u[6] ?? 0) & 0x0f) | 0x40;
  u[8] = ((u[8] ?? 0) & 0x3f) | 0x80;
  return u;
}
