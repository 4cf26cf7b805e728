// sys::fs's open files (handles.ts): the locks are per item of one filesystem, so an item of a host
// mount and one of the home's tree that happen to have the same FEID do not lock each other
// (docs/sysfs.md "Host mounts").

import { describe, expect, it } from "vitest";
import { OpenFiles } from "./handles.js";

describe("open files", () => {
  it("locks an item of one filesystem, not the same FEID on another", () => {
    const files = new OpenFiles();
    files.open(1, "/home/u/a", { fsid: 1n, feid: 42n }, false, true);
    expect(files.conflicts(1n, 42n, false)).toBe(true);
    expect(files.conflicts(2n, 42n, false)).toBe(false);
    expect(files.conflicts(2n, 42n, true)).toBe(false);
    files.open(2, "/mnt/m/a", { fsid: 2n, feid: 42n }, true, false);
    expect(files.conflicts(2n, 42n, false)).toBe(false);
    expect(files.conflicts(2n, 42n, true)).toBe(true);
  });
});
