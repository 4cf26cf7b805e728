// Black-box tests of CMDIN read by the app's runner (docs/ipc.md "CMDIN read by the runner"): when
// ncw's stdin is a host pipe or a file it has not read from, the runner reads it itself (through the
// CLI's /proc/<pid>/fd/0); elsewhere, and with NCW_CMDIN_DIRECT=0, the CLI's pump moves it. `--trace`
// says which path a run took; every test of the bytes runs on both paths and expects the same result.

import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, constants, openSync, readFileSync, writeFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { CAT_APP, commandApp } from "./command-helpers.js";
import { E, NCW, OK, TestHome } from "./kernel-helpers.js";

const home = new TestHome({ NCW_KERNEL_IDLE_MS: "30000" });
afterAll(() => home.cleanup());

const ncw = `"${process.execPath}" "${NCW}"`;
const RUNNER = "CMDIN: the runner reads the host's stdin itself (/proc/";
const PUMP = "CMDIN: the CLI's pump moves stdin into the ring";

/** A file with `wat` in the test home; its path. */
const file = (wat: string) => home.write(`r${Math.random().toString(36).slice(2)}.wat`, wat);

/** `sh -c script` (stdin `input`, a socket of Node's); stdout as bytes. */
function sh(script: string, env: Record<string, string> = {}, input: Uint8Array | string = "") {
  const r = spawnSync("sh", ["-c", script], {
    env: home.envFor(env),
    input,
    timeout: 90_000,
    maxBuffer: 256 << 20,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

/** Trace lines about CMDIN, and nothing else of the trace (the syscalls). */
const cmdinLines = (stderr: string) => stderr.split("\n").filter((l) => l.includes("CMDIN: "));

/** Write `$r32` bytes at 0x10000 to CMDRAW (check `id`). */
const rawOut = (id: number, count = "(call $r32)") =>
  `(call $check (i32.const ${id}) (call $write (call $cmdraw) ${count} (i32.const 0x10000) (i32.const 0)) (i32.const ${OK}))`;

/**
 * Every PIPE_READ mode on CMDIN, each result copied to CMDRAW in order, so stdout is the input again:
 * 3 bytes exact (mode 0x00); 2 bytes exact without waiting (0x01, retried while NO_PENDING_DATA);
 * up to 4 bytes of what is there (0x02); 60 KiB exact (0x00), which meets the end: 0x31 with the count;
 * PIPE_INFO then says closed (its bit 0x80 clear); a last read is 0x31.
 */
const MODES_APP = commandApp(
  `(call $check (i32.const 10) (call $read (call $cmdin) (i32.const 0) (i32.const 0x10000) (i32.const 3)) (i32.const ${OK}))
  ${rawOut(11, "(i32.const 3)")}
  (loop $again
    (local.set $s (call $read (call $cmdin) (i32.const 1) (i32.const 0x10000) (i32.const 2)))
    (br_if $again (i32.eq (local.get $s) (i32.const ${E(0x32)}))))
  (call $check (i32.const 12) (local.get $s) (i32.const ${OK}))
  ${rawOut(13, "(i32.const 2)")}
  (call $check (i32.const 14) (call $read (call $cmdin) (i32.const 2) (i32.const 0x10000) (i32.const 4)) (i32.const ${OK}))
  (if (i32.gt_u (call $r32) (i32.const 0)) (then ${rawOut(15)}))
  (call $check (i32.const 16) (call $read (call $cmdin) (i32.const 0) (i32.const 0x10000) (i32.const 0xf000)) (i32.const ${E(0x31)}))
  ${rawOut(17)}
  (call $check (i32.const 18) (call $s64 (i32.const 0x24) (call $cmdin)) (i32.const ${OK}))
  (call $check (i32.const 19) (i32.and (i32.load8_u (i32.const 0x2000)) (i32.const 0x80)) (i32.const 0))
  (call $check (i32.const 20) (call $read (call $cmdin) (i32.const 0) (i32.const 0x10000) (i32.const 0)) (i32.const ${E(0x31)}))`,
  "",
  "(local $s i32)",
);

/** Reads 4 bytes of CMDIN, then ends (exit data 0) with the rest of its input unread. */
const TAKES_FOUR = commandApp(
  `(call $check (i32.const 10) (call $read (call $cmdin) (i32.const 0) (i32.const 0x10000) (i32.const 4)) (i32.const ${OK}))`,
);

describe("CMDIN read by the app's runner, and the CLI's pump beside it", () => {
  const input = randomBytes(3_000_000);
  const inputFile = home.write("input.bin", input);

  it("a shell pipe is read by the runner (--trace says so): every byte, in order, then CMDIN closes", () => {
    const cat = file(CAT_APP);
    const r = sh(`cat "${inputFile}" | ${ncw} run --trace "${cat}"`);
    expect(r.code, r.stderr).toBe(0);
    expect(cmdinLines(r.stderr)).toEqual([expect.stringContaining(RUNNER)]);
    expect(Buffer.compare(r.stdout, input)).toBe(0);
  });

  it("a file on stdin (< file) is read by the runner too", () => {
    const cat = file(CAT_APP);
    const r = sh(`${ncw} run --trace "${cat}" < "${inputFile}"`);
    expect(r.code, r.stderr).toBe(0);
    expect(cmdinLines(r.stderr)).toEqual([expect.stringContaining(RUNNER)]);
    expect(Buffer.compare(r.stdout, input)).toBe(0);
  });

  it("the fallback: NCW_CMDIN_DIRECT=0, a socket, a file read from already: the CLI's pump, saying why", () => {
    const cat = file(CAT_APP);
    const off = sh(`cat "${inputFile}" | ${ncw} run --trace "${cat}"`, { NCW_CMDIN_DIRECT: "0" });
    expect(off.code, off.stderr).toBe(0);
    expect(cmdinLines(off.stderr)).toEqual([`[ncw] ${PUMP} (NCW_CMDIN_DIRECT=0)`]);
    expect(Buffer.compare(off.stdout, input)).toBe(0);
    // Node's spawn gives the child a socket for its stdin: no /proc open of it is possible.
    const sock = sh(`${ncw} run --trace "${cat}"`, {}, input);
    expect(sock.code, sock.stderr).toBe(0);
    expect(cmdinLines(sock.stderr)).toEqual([`[ncw] ${PUMP} (stdin is a socket)`]);
    expect(Buffer.compare(sock.stdout, input)).toBe(0);
    // A script read the first line: CMDIN is the rest, from where the script left the file.
    const lines = home.write("lines.txt", "first line\nthe rest\nand more\n");
    const read = sh(`{ read -r first; ${ncw} run --trace "${cat}"; } < "${lines}"`);
    expect(read.code, read.stderr).toBe(0);
    expect(cmdinLines(read.stderr)).toEqual([
      `[ncw] ${PUMP} (stdin is a file read from already (offset 11))`,
    ]);
    expect(read.stdout.toString()).toBe("the rest\nand more\n");
  });

  // The kernel's test hook names the runner another path than the CLI's own /proc/<pid>/fd/0: one
  // that does not exist, and an existing file that is not ncw's stdin (as a PID taken over by another
  // process would give): the runner refuses both, and the CLI's pump moves stdin instead.
  for (const [hook, why] of [
    ["/nonexistent/stdin", "ENOENT"],
    [process.execPath, "not the file ncw's stdin was"],
  ] as const) {
    it(`a runner that cannot use the path it is given (${why}): the CLI's pump moves stdin instead`, () => {
      const other = new TestHome({
        NCW_KERNEL_IDLE_MS: "30000",
        NCW_KERNEL_TEST_HOOKS: "1",
        NCW_TEST_CMDIN_HOST: hook,
      });
      try {
        const cat = other.write("cat.wat", CAT_APP);
        const r = spawnSync("sh", ["-c", `cat "${inputFile}" | ${ncw} run --trace "${cat}"`], {
          env: other.envFor(),
          timeout: 90_000,
          maxBuffer: 256 << 20,
        });
        const stderr = r.stderr.toString();
        expect(r.status, stderr.slice(-500)).toBe(0);
        expect(cmdinLines(stderr)).toEqual([
          expect.stringContaining(
            `CMDIN: the runner cannot read the host's stdin (${hook}: ${why}`,
          ),
          expect.stringContaining(`[ncw] ${PUMP} (the runner could not: ${hook}: ${why}`),
        ]);
        expect(Buffer.compare(r.stdout, input)).toBe(0);
      } finally {
        other.cleanup();
      }
    });
  }

  for (const path of ["runner", "pump"] as const) {
    const env: Record<string, string> = path === "pump" ? { NCW_CMDIN_DIRECT: "0" } : {};
    it(`every read mode on the ${path} path: exact, exact without waiting, partial, past the end (0x31 and the count), PIPE_INFO closed`, () => {
      const modes = file(MODES_APP);
      const small = randomBytes(40_000);
      const smallFile = home.write(`small-${path}.bin`, small);
      const r = sh(`cat "${smallFile}" | ${ncw} run --trace "${modes}"`, env);
      expect(r.code, r.stderr.split("\n").slice(-5).join("\n")).toBe(0);
      expect(cmdinLines(r.stderr)).toEqual([
        expect.stringContaining(path === "runner" ? RUNNER : PUMP),
      ]);
      expect(Buffer.compare(r.stdout, small)).toBe(0);
    });

    it(`the app ends before its input does (${path}): \`yes | ncw run\` ends, exit 0`, () => {
      const app = file(TAKES_FOUR);
      const t = performance.now();
      const r = sh(`yes | ${ncw} run "${app}"`, env);
      expect(r.code, r.stderr).toBe(0);
      expect(performance.now() - t).toBeLessThan(60_000);
    });

    it(`a signal runs while a read of CMDIN blocks (${path}): the app's TERMINATE handler ends it`, async () => {
      // The handler (TERMINATE, 0x4e) exits with 7; the app says <ready> on CMDMSG, then reads a CMDIN
      // that stays open without data: a FIFO the test holds open for writing.
      const app = file(
        commandApp(
          `(call $check (i32.const 90) (call $s8_64 (i32.const 0x01) (i32.const 0x4e) (i64.const 1)) (i32.const ${OK}))
          (call $check (i32.const 91) (call $s0 (i32.const 0x04)) (i32.const ${OK}))
          (call $check (i32.const 92) (call $write (call $cmdraw) (i32.const 7) (i32.const 0x6000) (i32.const 0)) (i32.const ${OK}))
          (drop (call $read (call $cmdin) (i32.const 0) (i32.const 0x10000) (i32.const 0)))
          (call $exit (i64.const 3))`,
          `(data (i32.const 0x6000) "<ready>")
          (func $onTerminate (param i32 i32) (result i64) (call $exit (i64.const 7)) (i64.const 0))
          (elem (i32.const 1) $onTerminate)`,
        ),
      );
      const fifo = `${home.dir}/fifo-${path}`;
      expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
      // O_RDWR: a FIFO's open that does not wait for the other end (Linux); the test is its writer.
      const fd = openSync(fifo, constants.O_RDWR);
      try {
        const child = spawn(process.execPath, [NCW, "run", "--trace", app], {
          env: home.envFor(env),
          stdio: [fd, "pipe", "pipe"],
        });
        let out = "";
        let err = "";
        child.stderr?.on("data", (b: Buffer) => {
          err += b.toString();
        });
        const ready = new Promise<void>((res) =>
          child.stdout?.on("data", (b: Buffer) => {
            out += b.toString();
            if (out.includes("<ready>")) res();
          }),
        );
        const exited = new Promise<number | null>((res) => child.on("exit", res));
        await ready;
        // The read is blocked now (the app said <ready> right before it); Ctrl-C's path: TERMINATE.
        await new Promise((r) => setTimeout(r, 300));
        child.kill("SIGINT");
        await exited;
        expect(err).toContain("exit data 7");
        expect(cmdinLines(err)).toEqual([
          expect.stringContaining(path === "runner" ? RUNNER : PUMP),
        ]);
      } finally {
        closeSync(fd);
      }
    }, 60_000);
  }

  it("the bytes a file gives the runner are the file's, also past the pipe's buffer (10 MB)", () => {
    const big = randomBytes(10_000_000);
    const bigFile = home.write("big.bin", big);
    const cat = file(CAT_APP);
    const out = `${home.dir}/big.out`;
    const r = sh(`${ncw} run "${cat}" < "${bigFile}" > "${out}"`);
    expect(r.code, r.stderr).toBe(0);
    expect(Buffer.compare(readFileSync(out), big)).toBe(0);
    writeFileSync(out, "");
  });
});
