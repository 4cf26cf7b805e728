// Black-box tests of `ncw` writing to pipes (docs/cli.md, "Closed and slow stdout"): a closed
// stdout ends a command quietly (exit 141, nothing on stderr); a slow reader gets every byte.

import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NCW_JS, ncw } from "./helpers/ncw.js";
import { tempDir } from "./skyer-fixtures.js";

const work = tempDir("ncw-cli-pipes-");
afterAll(() => rmSync(work, { recursive: true, force: true }));
const home = path.join(work, "home");
const run = (args: string[]) => ncw(["--home", home, ...args], { env: { NCW_USER: "" } });

const BIG = Buffer.alloc(6 * 1024 * 1024 + 12345);
for (let i = 0; i < BIG.length; i++) BIG[i] = (i * 2654435761) >>> 24;
let bigImage: string;
let bigWat: string;

beforeAll(() => {
  const f = path.join(work, "big.bin");
  writeFileSync(f, BIG);
  bigImage = path.join(work, "big.img");
  expect(run(["fs", "mkfs", bigImage, "--size", "128M"]).status).toBe(0);
  expect(run(["fs", "put", "--image", bigImage, f, "/big"]).status).toBe(0);
  const host = path.join(work, "many");
  mkdirSync(host);
  for (let i = 0; i < 400; i++) writeFileSync(path.join(host, `${"n".repeat(200)}-${i}`), "");
  expect(run(["fs", "put", "--image", bigImage, "-r", host, "/many"]).status).toBe(0);
  const funcs = Array.from(
    { length: 1500 },
    (_, i) => `(func $f${i} (result i32) (i32.add (i32.const ${i}) (i32.const 1)))`,
  );
  bigWat = path.join(work, "big.wat");
  writeFileSync(bigWat, `(module ${funcs.join("\n")})`);
});

function plainEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NCW_HOME: home, NCW_USER: "" };
  delete env.FORCE_COLOR;
  return env;
}

interface Ended {
  status: number | null;
  stdout: Buffer;
  stderr: string;
}

function ended(child: ChildProcess, chunks: Buffer[] = []): Promise<Ended> {
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  return new Promise((resolve) =>
    child.on("close", (status) => resolve({ status, stdout: Buffer.concat(chunks), stderr })),
  );
}

/** Runs ncw with stdout's reader gone before ncw writes anything: every write gets EPIPE. */
function withClosedStdout(args: string[]): Promise<Ended> {
  const child = spawn(process.execPath, [NCW_JS, ...args], { env: plainEnv() });
  child.stdout.destroy();
  return ended(child);
}

/** Runs ncw and, like `head -1`, reads its first chunk of output and then closes stdout. */
function likeHead(args: string[]): Promise<Ended> {
  const child = spawn(process.execPath, [NCW_JS, ...args], { env: plainEnv() });
  const chunks: Buffer[] = [];
  child.stdout.once("data", (c: Buffer) => {
    chunks.push(c);
    child.stdout.destroy();
  });
  return ended(child, chunks);
}

const argsOf = (a: string[]) => a.map((x) => (x === "BIG" ? bigImage : x === "WAT" ? bigWat : x));
const HELP = ["--help"];
const SKYER_LIST = ["skyer", "list"];
const FS_LS = ["fs", "ls", "--image", "BIG", "/many"];
const FS_LS_JSON = ["fs", "ls", "--json", "--image", "BIG", "/many"];
const FS_CAT = ["fs", "cat", "--image", "BIG", "/big"];
const DISASM = ["ca", "disasm", "WAT"];
const name = (a: string[]) => a.filter((x) => x !== "--image" && x !== "BIG").join(" ");

describe("a closed stdout ends the command quietly", () => {
  it.each([SKYER_LIST, FS_LS, FS_CAT, DISASM].map((a) => [name(a), a] as const))(
    "ncw %s with stdout closed: exit 141, nothing on stderr",
    async (_name, a) => {
      const r = await withClosedStdout(argsOf(a));
      expect(r.stderr).toBe("");
      expect(r.status).toBe(141);
    },
  );

  it("ncw --help with stdout closed: nothing on stderr", async () => {
    const r = await withClosedStdout(HELP);
    expect(r.stderr).toBe("");
    expect([0, 141]).toContain(r.status);
  });

  it.each([HELP, SKYER_LIST, FS_LS_JSON, DISASM].map((a) => [name(a) || "--help", a] as const))(
    "ncw %s | head -1: no stack trace, exit 0 or 141",
    async (_name, a) => {
      const r = await likeHead(argsOf(a));
      expect(r.stderr).toBe("");
      expect([0, 141]).toContain(r.status);
      expect(r.stdout.length).toBeGreaterThan(0);
    },
  );
});

const SLOW_READER = `
const chunks = [];
setTimeout(() => {
  process.stdin.on("data", (c) => {
    chunks.push(c);
    process.stdin.pause();
    setTimeout(() => process.stdin.resume(), 3);
  });
  process.stdin.on("end", () => process.stdout.write(Buffer.concat(chunks)));
}, 300);
`;

/** `ncw … | slow reader > out` through a real pipe (sh): the output the reader got, ncw's status and stderr. */
function throughSlowPipe(
  args: string[],
  reader = "slow",
): { out: Buffer; status: number; err: string } {
  const readerJs = path.join(work, "slow-reader.cjs");
  writeFileSync(readerJs, SLOW_READER);
  const out = path.join(work, "piped.out");
  const st = path.join(work, "piped.status");
  const err = path.join(work, "piped.err");
  const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const ncwCmd = [process.execPath, NCW_JS, ...args].map(q).join(" ");
  const readerCmd = reader === "slow" ? `${q(process.execPath)} ${q(readerJs)}` : reader;
  execFileSync(
    "sh",
    ["-c", `{ ${ncwCmd} 2>${q(err)}; echo $? >${q(st)}; } | ${readerCmd} >${q(out)}`],
    {
      env: plainEnv(),
    },
  );
  return {
    out: readFileSync(out),
    status: Number(readFileSync(st, "utf8").trim()),
    err: readFileSync(err, "utf8"),
  };
}

describe.skipIf(process.platform === "win32")("slow pipes get every byte", () => {
  it("ncw fs cat of a 6 MiB file through a slow pipe: exact bytes, exit 0", () => {
    const r = throughSlowPipe(["fs", "cat", "--image", bigImage, "/big"]);
    expect(r.err).toBe("");
    expect(r.status).toBe(0);
    expect(r.out.equals(BIG)).toBe(true);
  });

  it("ncw fs cat | head -c 100: the first 100 bytes, no EAGAIN, exit 0 or 141", () => {
    const r = throughSlowPipe(["fs", "cat", "--image", bigImage, "/big"], "head -c 100");
    expect(r.err).toBe("");
    expect([0, 141]).toContain(r.status);
    expect(r.out.equals(BIG.subarray(0, 100))).toBe(true);
  });

  it.each([FS_LS_JSON, DISASM].map((a) => [name(a), a] as const))(
    "ncw %s through a slow pipe: the same output as to a fast reader",
    (_name, a) => {
      const args = argsOf(a);
      const fast = spawnSync(process.execPath, [NCW_JS, ...args], { env: plainEnv() });
      expect(fast.status).toBe(0);
      expect(fast.stdout.length).toBeGreaterThan(0);
      const r = throughSlowPipe(args);
      expect(r.err).toBe("");
      expect(r.status).toBe(0);
      expect(r.out.equals(fast.stdout)).toBe(true);
    },
  );
});
