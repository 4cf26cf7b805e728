// sys::perm's layouts (commonassembly/abi/services/perm.ts, docs/permissions.md "sys::perm") against
// bytes written out by hand: delimited strings (u64 LE length, UTF-8), options (0x00 / 0x01 + value),
// booleans (0x01 true, 0x02 false), the Grant structure of LIST_GRANTS.

import { describe, expect, it } from "vitest";
import { decodeLayout, encodeLayout } from "../../commonassembly/abi/services/fields.js";
import {
  GRANT_DURATION_CODES,
  HAS_PERMISSION,
  LIST_GRANTS,
  REQUEST_PERMISSION,
  SYS_PERM,
} from "../../commonassembly/abi/services/perm.js";
import { SysPerm } from "./service.js";

const hex = (s: string) =>
  Uint8Array.from(s.replace(/\s+/g, "").match(/../g) ?? [], (h) => Number.parseInt(h, 16));
const ascii = (s: string) => Buffer.from(s).toString("hex");

describe("sys::perm's table", () => {
  it("has the codes of docs/permissions.md", () => {
    expect(SYS_PERM.methods.map((m) => [m.code, m.name])).toEqual([
      [1, "HAS_PERMISSION"],
      [2, "REQUEST_PERMISSION"],
      [3, "DROP_PERMISSION"],
      [4, "LIST_GRANTS"],
    ]);
    expect(REQUEST_PERMISSION.errors).toEqual({
      UNKNOWN_PERMISSION: 0x1000,
      UNSCOPED_PERMISSION: 0x1001,
    });
    expect(GRANT_DURATION_CODES).toEqual({
      once: 1,
      run: 2,
      session: 3,
      forever: 4,
      upfront: 5,
      automatic: 6,
    });
  });

  it("decodes a permission with and without a scope", () => {
    const bare = hex(`0900000000000000 ${ascii("flow.list")} 00`);
    expect(decodeLayout(HAS_PERMISSION.args, bare, "t")).toEqual({
      permission: "flow.list",
      scope: null,
    });
    const scoped = hex(
      `0d00000000000000 ${ascii("fs.items.read")} 01 0500000000000000 ${ascii("/home")}`,
    );
    expect(decodeLayout(HAS_PERMISSION.args, scoped, "t")).toEqual({
      permission: "fs.items.read",
      scope: "/home",
    });
    expect(encodeLayout(HAS_PERMISSION.answer, { granted: false }, "t")).toEqual(hex("02"));
  });

  it("encodes LIST_GRANTS' list of Grant structures", () => {
    const structs = new SysPerm({} as never).structures;
    const bytes = encodeLayout(
      LIST_GRANTS.answer,
      {
        grants: [
          { permission: "flow.list", scope: null, duration: 5 },
          { permission: "fs.items.read", scope: "/a", duration: 4 },
        ],
      },
      "t",
      structs,
    );
    // 9+8+1+1 = 19, 13+8+1+10+1 = 33: the list's byte length is 52 (0x34).
    expect(bytes).toEqual(
      hex(
        `3400000000000000 0900000000000000 ${ascii("flow.list")} 00 05 0d00000000000000 ${ascii("fs.items.read")} 01 0200000000000000 ${ascii("/a")} 04`,
      ),
    );
    expect(decodeLayout(LIST_GRANTS.answer, bytes, "t", structs)).toEqual({
      grants: [
        { permission: "flow.list", scope: null, duration: 5 },
        { permission: "fs.items.read", scope: "/a", duration: 4 },
      ],
    });
  });
});
