// The ABI leaf's errors reach the user as NCW errors (cli/context.ts): `ncw run` with more arguments
// than the execution context holds (specs/applications.md, "Execution Context") is a usage error, exit 2.

import { afterAll, describe, expect, it } from "vitest";
import { TestHome } from "./kernel-helpers.js";

const home = new TestHome();
afterAll(() => home.cleanup());

describe("ncw run: arguments NightOS does not allow", () => {
  const prog = home.write(
    "p.wat",
    `(module (memory (export "memory") 1 1 shared) (func (export "_start")))`,
  );

  it("more than 255 arguments: usage error CTX_TOO_MANY_ARGS, no stack trace", () => {
    const r = home.ncw(["--json", "run", prog, "--", ...new Array<string>(256).fill("a")]);
    expect(r.code).toBe(2);
    const err = (JSON.parse(r.stdout) as { error: { code: string; kind: string } }).error;
    expect(err).toMatchObject({ code: "CTX_TOO_MANY_ARGS", kind: "usage" });
  });

  it("an argument block larger than the context allows: CTX_ARGS_TOO_LARGE with a hint", () => {
    const r = home.ncw(["run", prog, "--", "x".repeat(70_000)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/error: the arguments take \d+ bytes; NightOS allows at most/);
    expect(r.stderr).toMatch(/hint: pass fewer or shorter arguments/);
    expect(r.stderr).not.toMatch(/internal error/);
  });
});
