// Tests of the AOT artifact and cache (docs/commonassembly-aot.md): reuse, stale/foreign/corrupt
// artifacts rebuilt with a readable reason, and two processes compiling the same program at once.

import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { TestProcess } from "../../test/ca-exec.js";
import { wat } from "../../test/wasm-spec/wat.js";
import { ABI_VERSION, ABI_VERSION_SECTION } from "../abi/wasm-names.js";
import { encodeNpp } from "../npp.js";
import { ARTIFACT_MAGIC, decodeArtifact, encodeArtifact, sha256Hex } from "./artifact.js";
import { aotCompile, artifactPathFor, loadArtifact } from "./cache.js";

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const tmp = mkdtempSync(path.join(os.tmpdir(), "ncw-aot-cache-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const PROGRAM = `(module
  (import "nightos" "syscall" (func $sys (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1 16 shared)
  (table (export "__indirect_function_table") 1 funcref)
  (func (export "_start") (local $i i32)
    (loop $l
      (i32.store (i32.const 2048) (i32.add (i32.load (i32.const 2048)) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 100))))))`;

async function programNpp(): Promise<Uint8Array> {
  return encodeNpp(await wat(PROGRAM));
}

function freshDir(name: string): string {
  return path.join(tmp, name);
}

function rewriteHeader(file: string, change: (h: Record<string, unknown>) => void): void {
  const a = decodeArtifact(new Uint8Array(readFileSync(file)));
  const header = { ...a.header } as unknown as Record<string, unknown>;
  change(header);
  writeFileSync(
    file,
    encodeArtifact({ header: header as unknown as typeof a.header, module: a.module }),
  );
}

describe("aotCompile", () => {
  it("records the NPP's ABI version in a fork-capable module (nightos.abi), not in others", async () => {
    const forking = PROGRAM.replace(
      "(memory",
      '(import "nightos" "syscall_fork" (func $fork (param i32 i32 i32) (result i32)))\n  (memory',
    );
    const cacheDir = freshDir("abi-section");
    const section = (m: WebAssembly.Module) =>
      WebAssembly.Module.customSections(m, ABI_VERSION_SECTION).map((b) => [...new Uint8Array(b)]);
    const v10 = await aotCompile(await encodeNpp(await wat(forking), { abiVersion: 0x0100 }), {
      cacheDir,
    });
    expect(section(v10.module)).toEqual([[0x00, 0x01]]);
    const v11 = await aotCompile(await encodeNpp(await wat(forking)), { cacheDir });
    expect(section(v11.module)).toEqual([[ABI_VERSION & 0xff, ABI_VERSION >> 8]]);
    // Reused from the cache, the artifact's module still carries it.
    expect(section(loadArtifact(v11.artifactPath).module)).toEqual([[0x01, 0x01]]);
    const plain = await aotCompile(await programNpp(), { cacheDir });
    expect(section(plain.module)).toEqual([]);
  });

  it("compiles an NPP, stores a self-describing artifact, then reuses it", async () => {
    const cacheDir = freshDir("reuse");
    const npp = await programNpp();
    const first = await aotCompile(npp, { cacheDir });
    expect(first.cached).toBe(false);
    expect(first.rejected).toBeUndefined();
    expect(first.artifactPath).toBe(artifactPathFor(cacheDir, sha256Hex(npp)));
    expect(first.steps.map((s) => s.step)).toEqual(
      expect.arrayContaining([
        "npp-header",
        "decode+validate",
        "read",
        "instrument",
        "engine-compile",
        "store",
      ]),
    );
    const bytes = new Uint8Array(readFileSync(first.artifactPath));
    expect(Array.from(bytes.subarray(0, 8))).toEqual(ARTIFACT_MAGIC);
    const { header } = decodeArtifact(bytes);
    expect(header).toMatchObject({
      engine: `node ${process.version} / V8 ${process.versions.v8}`,
      inputHash: sha256Hex(npp),
      abiVersion: 0x0101,
      flags: { polls: true, asyncify: false },
    });
    expect(header.cpu).toContain(process.arch);
    // The artifact runs: the loop sums 0..99.
    const p = TestProcess.create(first.module);
    p.runStart();
    expect(p.i32[512]).toBe(4950);

    const second = await aotCompile(npp, { cacheDir });
    expect(second.cached).toBe(true);
    expect(second.steps.map((s) => s.step)).not.toContain("instrument");
    expect(second.steps.map((s) => s.step)).not.toContain("decode+validate");
    // A damaged NPP is refused even though an artifact exists for the intact file.
    const damaged = Uint8Array.from(npp);
    damaged[damaged.length - 1] = (damaged[damaged.length - 1] as number) ^ 1;
    await expect(aotCompile(damaged, { cacheDir })).rejects.toMatchObject({ kind: "data" });
    const again = TestProcess.create(second.module);
    again.runStart();
    expect(again.i32[512]).toBe(4950);
    expect(loadArtifact(first.artifactPath).header.inputHash).toBe(sha256Hex(npp));
  });

  it("accepts a path and a raw module (ABI-checked), and names what is wrong with bad input", async () => {
    const cacheDir = freshDir("inputs");
    const file = path.join(tmp, "prog.wasm");
    writeFileSync(file, await wat(PROGRAM));
    const r = await aotCompile(file, { cacheDir });
    expect(r.header.abiVersion).toBe(0x0101);
    await expect(aotCompile(path.join(tmp, "missing.npp"), { cacheDir })).rejects.toMatchObject({
      kind: "not-found",
      code: "AOT_INPUT_NOT_FOUND",
    });
    // Not an ABI program: no _start, no shared memory.
    const plain = await wat(`(module (func (export "f")))`);
    await expect(aotCompile(plain, { cacheDir })).rejects.toMatchObject({ kind: "data" });
    // ...but fine as plain WebAssembly (what the spec-test runner does).
    expect((await aotCompile(plain, { cacheDir, abi: false })).cached).toBe(false);
    await expect(
      aotCompile(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]), { cacheDir }),
    ).rejects.toMatchObject({
      kind: "data",
    });
  });

  it("rejects a stale artifact (other NCW version) with a readable reason and rebuilds it", async () => {
    const cacheDir = freshDir("stale");
    const npp = await programNpp();
    const { artifactPath } = await aotCompile(npp, { cacheDir });
    rewriteHeader(artifactPath, (h) => {
      h.ncwVersion = "0.0.1";
    });
    expect(() => loadArtifact(artifactPath)).toThrow(/NCW version "0.0.1", this is "/);
    const r = await aotCompile(npp, { cacheDir });
    expect(r.cached).toBe(false);
    expect(r.rejected).toMatch(/stale or foreign artifact: built for NCW version "0.0.1"/);
    expect((await aotCompile(npp, { cacheDir })).cached).toBe(true);
  });

  it("rejects a foreign artifact (other engine or CPU) and rebuilds it", async () => {
    const cacheDir = freshDir("foreign");
    const npp = await programNpp();
    const { artifactPath } = await aotCompile(npp, { cacheDir });
    rewriteHeader(artifactPath, (h) => {
      h.engine = "node v99.0.0 / V8 99.0";
    });
    const r = await aotCompile(npp, { cacheDir });
    expect(r.rejected).toMatch(/built for engine "node v99.0.0 \/ V8 99.0", this is "node v/);
    rewriteHeader(artifactPath, (h) => {
      h.cpu = "riscv64 Some CPU / features sha256:0";
    });
    expect(() => loadArtifact(artifactPath)).toThrow(/host CPU "riscv64/);
    expect((await aotCompile(npp, { cacheDir })).rejected).toMatch(/host CPU/);
  });

  it("detects a corrupted or truncated artifact by its hash and rebuilds it", async () => {
    const cacheDir = freshDir("corrupt");
    const npp = await programNpp();
    const { artifactPath } = await aotCompile(npp, { cacheDir });
    const good = new Uint8Array(readFileSync(artifactPath));
    const flipped = Uint8Array.from(good);
    flipped[good.length - 100] = (flipped[good.length - 100] as number) ^ 0x40;
    writeFileSync(artifactPath, flipped);
    expect(() => loadArtifact(artifactPath)).toThrow(/corrupted AOT artifact: SHA-256 mismatch/);
    const r = await aotCompile(npp, { cacheDir });
    expect(r.cached).toBe(false);
    expect(r.rejected).toMatch(/SHA-256 mismatch/);
    writeFileSync(artifactPath, good.subarray(0, 20));
    expect((await aotCompile(npp, { cacheDir })).rejected).toMatch(/corrupted AOT artifact/);
    writeFileSync(artifactPath, new Uint8Array(0));
    expect((await aotCompile(npp, { cacheDir })).rejected).toMatch(/file too short/);
    expect(Array.from(readFileSync(artifactPath).subarray(0, 8))).toEqual(ARTIFACT_MAGIC);
  });

  it("survives two processes compiling the same program at once", async () => {
    const dist = path.join(ROOT, "dist/commonassembly/aot/cache.js");
    if (!existsSync(dist)) {
      if (process.env.CI)
        throw new Error("dist/ is missing: run `npx tsc -p tsconfig.json` before the tests");
      await run("npx", ["tsc", "-p", "tsconfig.json"], { cwd: ROOT }).catch(() => undefined);
    }
    const cacheDir = freshDir("concurrent");
    const nppFile = path.join(tmp, "prog.npp");
    writeFileSync(nppFile, await programNpp());
    // Each process compiles 8 times with force (always rewriting the artifact) and loads it in between.
    const script = `
      import { aotCompile, loadArtifact } from ${JSON.stringify(dist)};
      for (let i = 0; i < 8; i++) {
        const r = await aotCompile(${JSON.stringify(nppFile)}, { cacheDir: ${JSON.stringify(cacheDir)}, force: true });
        loadArtifact(r.artifactPath);
      }
      console.log("ok");`;
    const child = (): Promise<{ stdout: string }> =>
      run(process.execPath, ["--input-type=module", "-e", script], { cwd: ROOT, timeout: 60_000 });
    const [a, b] = await Promise.all([child(), child()]);
    expect(a.stdout.trim()).toBe("ok");
    expect(b.stdout.trim()).toBe("ok");
    const files = readdirSync(path.join(cacheDir, "aot"));
    expect(files.filter((f) => f.endsWith(".tmp"))).toEqual([]);
    expect(files).toHaveLength(1);
    const r = await aotCompile(nppFile, { cacheDir });
    expect(r.cached).toBe(true);
  });

  it("serves a cache hit without loading Binaryen", async () => {
    const dist = path.join(ROOT, "dist/commonassembly/aot/cache.js");
    if (!existsSync(dist)) {
      if (process.env.CI)
        throw new Error("dist/ is missing: run `npx tsc -p tsconfig.json` before the tests");
      await run("npx", ["tsc", "-p", "tsconfig.json"], { cwd: ROOT }).catch(() => undefined);
    }
    const cacheDir = freshDir("no-binaryen");
    const nppFile = path.join(tmp, "hit.npp");
    writeFileSync(nppFile, await programNpp());
    expect((await aotCompile(nppFile, { cacheDir })).cached).toBe(false);
    // A resolve hook that refuses the "binaryen" package: loading it would fail the child.
    const hook = `data:text/javascript,${encodeURIComponent(
      `export async function resolve(s, c, next) {
         if (s === "binaryen") throw new Error("binaryen was loaded");
         return next(s, c);
       }`,
    )}`;
    const script = `
      import { register } from "node:module";
      register(${JSON.stringify(hook)});
      const { aotCached, aotCompile } = await import(${JSON.stringify(dist)});
      const o = { cacheDir: ${JSON.stringify(cacheDir)} };
      console.log(aotCached(${JSON.stringify(nppFile)}, o)?.cached, (await aotCompile(${JSON.stringify(nppFile)}, o)).cached);`;
    const out = await run(process.execPath, ["--input-type=module", "-e", script], {
      cwd: ROOT,
      timeout: 60_000,
    });
    expect(out.stdout.trim()).toBe("true true");
  });
});
