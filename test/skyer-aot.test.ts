// The AOT step at install time (DIRECTION.md §1, docs/skyer.md "The AOT step"): installing or
// updating an application with content.program.precomp compiles it into the home's cache before
// the commit point; a program that fails validation fails the install with the toolchain's code
// and leaves the whole home (cache included) untouched.

import { existsSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeNpp } from "../commonassembly/npp.js";
import { watToWasm } from "../commonassembly/text.js";
import { ncw as run } from "./helpers/ncw.js";
import {
  expectUntouched,
  homeState,
  makePackage,
  tempDir,
  type Untouched,
  VALID_NPP,
} from "./skyer-fixtures.js";

const work = tempDir("ncw-skyer-aot-");
afterAll(() => rmSync(work, { recursive: true, force: true }));

const enc = (s: string) => new TextEncoder().encode(s);
let home = "";

interface AotOut {
  action: string;
  version: string;
  aot?: { program: string; artifact: string; cached: boolean; ms: number };
}

function ncw(args: string[]) {
  return run(["--home", home, ...args, "--json"], { env: { NCW_USER: "" } });
}

function ok(args: string[]): AotOut {
  const r = ncw(args);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as AotOut;
}

/** The command fails with `code` naming main.npp, and nothing in the home changed. */
async function rejected(args: string[], code: string, untouched: Untouched = "bytes") {
  const before = await homeState(home);
  const r = ncw(args);
  expect(r.status, r.stdout + r.stderr).toBe(65);
  const err = (JSON.parse(r.stdout) as { error: { code: string; message: string } }).error;
  expect(err.code).toBe(code);
  expect(err.message).toContain("main.npp (content.program.precomp) fails the AOT step");
  await expectUntouched(home, before, untouched);
}

/** An NPP whose container is fine but whose module breaks the ABI (an import from "env"). */
async function abiBreakingNpp(): Promise<Uint8Array> {
  const wasm = await watToWasm(
    `(module (import "env" "f" (func)) (memory (export "memory") 1 1 shared) (table (export "__indirect_function_table") 1 funcref) (func (export "_start")))`,
  );
  return encodeNpp(wasm);
}

beforeAll(() => {
  home = path.join(work, "home");
});

describe("the AOT step runs at install time", () => {
  it("a valid program is compiled into the home's cache, and `ncw ca aot` reuses it", async () => {
    const pkg = await makePackage(work, { aid: "dev::calc", version: "1.0.0", npp: VALID_NPP });
    const r = ok(["skyer", "install", pkg]);
    expect(r.action).toBe("installed");
    expect(r.aot?.program).toBe("main.npp");
    expect(r.aot?.cached).toBe(false);
    expect(r.aot?.ms).toBeGreaterThan(0);
    const artifact = r.aot!.artifact;
    expect(path.dirname(artifact)).toBe(path.join(home, "cache", "aot"));
    expect(existsSync(artifact)).toBe(true);
    // The same program, compiled as `ncw run` compiles it (aotCompile with the home's cache).
    const npp = path.join(work, "calc.npp");
    writeFileSync(npp, VALID_NPP);
    const again = ncw(["ca", "aot", npp]);
    expect(again.status, again.stderr).toBe(0);
    const a = JSON.parse(again.stdout) as { artifact: string; cached: boolean };
    expect(a).toMatchObject({ artifact, cached: true });
    // The human output says it too.
    const pkg2 = await makePackage(work, { aid: "dev::calc", version: "1.0.1", npp: VALID_NPP });
    const text = run(["--home", home, "skyer", "install", pkg2], { env: { NCW_USER: "" } });
    expect(text.status, text.stderr).toBe(0);
    // …and what its time was: loading the cached artifact, step by step.
    expect(text.stdout).toMatch(
      /AOT: main\.npp already compiled \(cached\); loading the cached artifact took \d+ ms \([a-z+-]+ \d+ ms(, [a-z+-]+ \d+ ms){0,2}\) -> /,
    );
  });

  it("a main.npp that is not an NPP fails the install with NPP_BAD_MAGIC; the home is untouched", async () => {
    const pkg = await makePackage(work, { aid: "dev::bad", version: "1.0.0", npp: enc("junk\n") });
    await rejected(["skyer", "install", pkg], "NPP_BAD_MAGIC");
    await rejected(["skyer", "install", pkg, "--global"], "NPP_BAD_MAGIC");
  });

  it("an NPP whose module breaks the ABI fails with the validator's code; the home is untouched", async () => {
    const pkg = await makePackage(work, {
      aid: "dev::bad",
      version: "1.0.0",
      npp: await abiBreakingNpp(),
    });
    await rejected(["skyer", "install", pkg], "ABI_IMPORT_MODULE");
  });

  it("a truncated NPP fails with NPP_TRUNCATED", async () => {
    const pkg = await makePackage(work, {
      aid: "dev::bad",
      version: "1.0.0",
      npp: VALID_NPP.subarray(0, VALID_NPP.length - 5),
    });
    await rejected(["skyer", "install", pkg], "NPP_TRUNCATED");
  });

  it("reinstalling (update path) with a bad program keeps the installed version", async () => {
    const pkg = await makePackage(work, { aid: "dev::calc", version: "2.0.0", npp: enc("junk") });
    await rejected(["skyer", "install", pkg], "NPP_BAD_MAGIC");
    const info = JSON.parse(ncw(["skyer", "info", "dev::calc"]).stdout) as {
      versions: { version: string }[];
    };
    expect(info.versions[0]?.version).toBe("1.0.1");
  });

  it("a .nau update whose new program fails validation is refused; a good one is compiled", async () => {
    const v1 = await makePackage(work, { aid: "dev::upd", version: "1.0.0", npp: VALID_NPP });
    ok(["skyer", "install", v1]);
    const badV2 = await makePackage(work, {
      aid: "dev::upd",
      version: "1.1.0",
      npp: await abiBreakingNpp(),
    });
    const badNau = path.join(work, "bad.nau");
    expect(run(["skyer", "make-update", v1, badV2, "-o", badNau]).status).toBe(0);
    // Compiled from the staged content/: the rollback is committed (the tree, not the image's bytes).
    await rejected(["skyer", "update", "dev::upd", badNau], "ABI_IMPORT_MODULE", "content");

    // A good update whose program changes: the new program is compiled before the commit.
    const wasm = await watToWasm(
      `(module (memory (export "memory") 1 1 shared) (table (export "__indirect_function_table") 1 funcref) (func (export "_start") (nop) (nop)))`,
    );
    const goodV2 = await makePackage(work, {
      aid: "dev::upd",
      version: "1.1.0",
      npp: await encodeNpp(wasm),
    });
    const goodNau = path.join(work, "good.nau");
    expect(run(["skyer", "make-update", v1, goodV2, "-o", goodNau]).status).toBe(0);
    const r = ok(["skyer", "update", "dev::upd", goodNau]);
    expect(r.version).toBe("1.1.0");
    expect(r.aot).toMatchObject({ program: "main.npp", cached: false });
    expect(existsSync(r.aot!.artifact)).toBe(true);
  });

  // Last: the kernel `ncw run` starts lives on briefly in the home, which the tests above snapshot.
  it("`ncw run` of an installed package finds its artifact in the cache", async () => {
    const pkg = await makePackage(work, { aid: "dev::calc", version: "1.0.1", npp: VALID_NPP });
    const ran = run(["--home", home, "run", "--trace", pkg], {
      env: { NCW_USER: "", NCW_KERNEL_IDLE_MS: "1000" },
    });
    expect(ran.status, ran.stderr).toBe(0);
    expect(ran.stderr).toMatch(/\[ncw\] dev::calc: AOT cached in [\d.]+ ms/);
  });
});
