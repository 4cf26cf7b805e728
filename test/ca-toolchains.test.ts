// Real toolchains produce NightOS programs: the C fixture (clang, with sdk/c/nightos.h) and the
// AssemblyScript fixture (asc) are built with the commands of docs/commonassembly.md §9, assembled and
// validated by `ncw ca`, AOT-compiled and run; their syscalls must arrive byte for byte as the ABI says.
// The flags are written out here as §9 shows them, on purpose not taken from commonassembly/sdk/toolchains.ts
// (which test/sdk-command.test.ts builds with): this test checks that the documented commands work.
// clang/wasm-ld are needed: skipped locally without them, a failure in CI.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { EXPORT_TABLE } from "../commonassembly/abi/wasm-names.js";
import { aotCompile } from "../commonassembly/aot/cache.js";
import { generateAsBindings } from "../commonassembly/sdk/as-bindings.js";
import { generateCHeader } from "../commonassembly/sdk/c-header.js";
import { TestProcess } from "./ca-exec.js";
import { clangOk } from "./helpers/clang.js";
import { ncw } from "./helpers/ncw.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const FIXTURES = path.join(ROOT, "test/fixtures/ca");
const tmp = mkdtempSync(path.join(os.tmpdir(), "ncw-ca-tc-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: "utf8", cwd: ROOT });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed:\n${r.stdout}\n${r.stderr}`);
}

class Exit extends Error {
  constructor(readonly data: bigint) {
    super(`exit ${data}`);
  }
}

/** AOT-compiles and runs a program with a tiny kernel: records each request, answers GET_PID = 100. */
async function execute(
  npp: string,
): Promise<{ requests: number[][]; exit: bigint; proc: TestProcess }> {
  const r = await aotCompile(npp, { cacheDir: path.join(tmp, "cache") });
  const requests: number[][] = [];
  let exit: bigint | undefined;
  const proc = TestProcess.create(r.module, {
    onSafepoint: (p) => p.setPollFlag(false),
    syscall: (memory, req, len, ret) => {
      const bytes = [...new Uint8Array(memory.buffer, req, len)];
      requests.push(bytes);
      const view = new DataView(memory.buffer);
      for (let i = 0; i < 40; i++) view.setUint8(ret + i, 0);
      if (bytes[0] === 0x53) view.setBigUint64(ret, 100n, true);
      if (bytes[0] === 0x5f) throw new Exit(view.getBigUint64(req + 1, true));
      return 0;
    },
  });
  proc.setPollFlag(true); // the first instrumented function entry must call safepoint
  try {
    proc.runStart();
  } catch (e) {
    if (!(e instanceof Exit)) throw e;
    exit = e.data;
  }
  expect(exit, "the program called EXIT").toBeDefined();
  return { requests, exit: exit!, proc };
}

/** Checks the requests hello.c / hello.ts make, and that the handler index names a handler. */
function checkHello(res: { requests: number[][]; exit: bigint; proc: TestProcess }): void {
  const [handle, ready, getPid, exit] = res.requests;
  expect(res.requests).toHaveLength(4);
  expect(handle!.slice(0, 2)).toEqual([0x01, 0x4e]);
  expect(handle).toHaveLength(10);
  const index = Number(new DataView(Uint8Array.from(handle!).buffer).getBigUint64(2, true));
  const table = res.proc.instance.exports[EXPORT_TABLE] as WebAssembly.Table;
  const fn = table.get(index) as ((a: number, b: number) => bigint) | null;
  expect(typeof fn).toBe("function");
  expect(fn!(0x4e, 32)).toBe(0n); // (i32, i32) -> i64: BigInt result
  expect(ready).toEqual([0x04]);
  expect(getPid).toEqual([0x53]);
  // EXIT with pid (100) + fib(20) (6765) + terminated (0), 8 bytes little-endian.
  expect(exit).toEqual([0x5f, 0xd1, 0x1a, 0, 0, 0, 0, 0, 0]);
  expect(res.exit).toBe(6865n);
  expect(res.proc.safepoints).toBeGreaterThanOrEqual(1);
}

describe("real toolchains", () => {
  it("sdk/c/nightos.h and sdk/as/nightos.ts are the generated files", () => {
    expect(readFileSync(path.join(ROOT, "sdk/c/nightos.h"), "utf8")).toBe(generateCHeader());
    // The AssemblyScript file is committed as biome formats it.
    const formatted = spawnSync(
      path.join(ROOT, "node_modules/.bin/biome"),
      ["format", "--stdin-file-path=sdk/as/nightos.ts"],
      { input: generateAsBindings(), encoding: "utf8", cwd: ROOT },
    );
    expect(formatted.status).toBe(0);
    expect(readFileSync(path.join(ROOT, "sdk/as/nightos.ts"), "utf8")).toBe(formatted.stdout);
  });

  it.skipIf(!clangOk)(
    "clang: a C program built with the documented flags runs under the ABI",
    async () => {
      const wasm = path.join(tmp, "hello-c.wasm");
      const npp = path.join(tmp, "hello-c.npp");
      run("clang", [
        "--target=wasm32",
        "-O2",
        "-nostdlib",
        "-matomics",
        "-mbulk-memory",
        "-Wl,--export=_start",
        "-Wl,--export-table",
        "-Wl,--shared-memory",
        "-Wl,--max-memory=16777216",
        "-Wl,--import-undefined",
        "-Wall",
        "-Werror",
        "-I",
        "sdk/c",
        "-o",
        wasm,
        path.join(FIXTURES, "hello.c"),
      ]);
      const asm = ncw(["ca", "asm", wasm, "-o", npp, "--meta", "producer=clang"]);
      expect(asm.stderr).toBe("");
      expect(asm.status).toBe(0);
      const v = ncw(["ca", "validate", npp]);
      expect(v.status).toBe(0);
      checkHello(await execute(npp));
    },
  );

  it.skipIf(!clangOk)("clang: every wrapper of sdk/c/nightos.h compiles to valid ABI code", () => {
    // A translation unit that takes the address of every wrapper so none is dropped unchecked.
    const names = [...generateCHeader().matchAll(/static inline int32_t (nightos_[a-z_]+)\(/g)].map(
      (m) => m[1]!,
    );
    expect(names.length).toBeGreaterThan(50);
    const src = path.join(tmp, "all.c");
    const body = `#include "nightos.h"\nvoid *all[] = {${names.map((n) => `(void *)${n}`).join(", ")}};\nvoid _start(void) {}\n`;
    writeFileSync(src, body);
    const wasm = path.join(tmp, "all.wasm");
    run("clang", [
      "--target=wasm32",
      "-O2",
      "-nostdlib",
      "-matomics",
      "-mbulk-memory",
      "-Wl,--export=_start",
      "-Wl,--export=all", // keeps the array (and so every wrapper) in the module
      "-Wl,--export-table",
      "-Wl,--shared-memory",
      "-Wl,--max-memory=16777216",
      "-Wl,--import-undefined",
      "-Wall",
      "-Werror",
      "-I",
      "sdk/c",
      "-o",
      wasm,
      src,
    ]);
    const v = ncw(["ca", "validate", wasm, "--json"]);
    expect(JSON.parse(v.stdout)).toMatchObject({ valid: true });
  });

  for (const fixture of ["hello.ts", "hello-sdk.ts"]) {
    it(`AssemblyScript: ${fixture} built with asc runs under the ABI`, async () => {
      const wasm = path.join(tmp, fixture.replace(".ts", ".wasm"));
      const npp = path.join(tmp, fixture.replace(".ts", ".npp"));
      run(process.execPath, [
        path.join(ROOT, "node_modules/assemblyscript/bin/asc.js"),
        path.join(FIXTURES, fixture),
        "-o",
        wasm,
        "--enable",
        "threads",
        "--sharedMemory",
        "--maximumMemory",
        "256",
        "--exportTable",
        "--exportStart",
        "_start",
        "--memoryBase",
        "1024",
        "--runtime",
        "stub",
        "-O2",
      ]);
      const raw = ncw(["ca", "validate", wasm, "--json"]);
      expect(JSON.parse(raw.stdout).problems.map((p: { code: string }) => p.code)).toEqual([
        "ABI_EXPORT_MISSING",
      ]);
      const asm = ncw([
        "ca",
        "asm",
        wasm,
        "-o",
        npp,
        "--rename-export",
        "table=__indirect_function_table",
      ]);
      expect(asm.stderr).toBe("");
      expect(asm.status).toBe(0);
      expect(ncw(["ca", "validate", npp]).status).toBe(0);
      checkHello(await execute(npp));
    });
  }
});
