import { describe, expect, it } from "vitest";
import { defaultHomePath, resolveHomePath } from "./home.js";

describe("NCW home", () => {
  it("follows XDG on Linux", () => {
    expect(defaultHomePath({}, "linux", "/home/u")).toBe("/home/u/.local/share/ncw");
    expect(defaultHomePath({ XDG_DATA_HOME: "/x" }, "linux", "/home/u")).toBe("/x/ncw");
    // A relative XDG_DATA_HOME is invalid per the XDG spec and ignored.
    expect(defaultHomePath({ XDG_DATA_HOME: "rel" }, "linux", "/home/u")).toBe(
      "/home/u/.local/share/ncw",
    );
  });
  it("uses Application Support on macOS and LocalAppData on Windows", () => {
    expect(defaultHomePath({}, "darwin", "/Users/u")).toBe(
      "/Users/u/Library/Application Support/ncw",
    );
    expect(defaultHomePath({ LOCALAPPDATA: "C:\\L" }, "win32", "C:\\Users\\u")).toBe("C:\\L\\ncw");
  });
  it("prefers --home over NCW_HOME", () => {
    expect(resolveHomePath("/a", { NCW_HOME: "/b" })).toBe("/a");
    expect(resolveHomePath(undefined, { NCW_HOME: "/b" })).toBe("/b");
  });
});
