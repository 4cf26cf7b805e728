// Black-box tests of a Hydre pipeline between app commands (`a | b | c`, docs/hydre.md "Pipes";
// docs/ipc.md "Command pipes between two commands") through `ncw hydre -c`, with installed WAT apps:
// the commands run at once, a `stream` input is the command before's CMDRAW itself (one ring from one
// app to the other, never through the CLI: its memory stays small for hundreds of MB), a command
// that stops reading ends its producer (PIPE_WRITE 0x31), a failing one kills those after it.

import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FAILURE_BYTES } from "../commonassembly/abi/values.js";
import {
  CAT_APP,
  COUNT_CMDIN_APP,
  commandApp,
  HEAD_APP,
  producerApp,
  watBytes,
} from "./command-helpers.js";
import { hydreIn, hydreWatched, installCommandApp } from "./hydre-helpers.js";
import { E, OK, TestHome, waitFor } from "./kernel-helpers.js";

const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "dist");
const client = (await import(
  path.join(dist, "kernel-compat", "client.js")
)) as typeof import("../kernel-compat/client.js");
const { openHome } = (await import(
  path.join(dist, "ncw", "home.js")
)) as typeof import("../ncw/home.js");

const home = new TestHome({ NCW_KERNEL_IDLE_MS: "60000" });
afterAll(() => home.cleanup());

/** Writes "partial" to CMDRAW, then the failure value to CMDOUT. */
const FAIL_RAW_APP = commandApp(
  `(call $check (i32.const 2) (call $write (call $cmdraw) (i32.const 7) (i32.const 0x6100) (i32.const 0)) (i32.const ${OK}))
  (call $check (i32.const 3) (call $write (call $cmdout) (i32.const ${FAILURE_BYTES.length}) (i32.const 0x6000) (i32.const 0)) (i32.const ${OK}))`,
  `(data (i32.const 0x6000) "${watBytes(FAILURE_BYTES)}") (data (i32.const 0x6100) "partial")`,
);

/**
 * Writes "partial" to CMDRAW and closes it (CLOSE_PIPE), hands over a thousand times (~1 s), then
 * writes the failure value to CMDOUT: the end of its stream comes well before its failure.
 */
const FAIL_LATE_APP = commandApp(
  `(call $check (i32.const 2) (call $write (call $cmdraw) (i32.const 7) (i32.const 0x6100) (i32.const 0)) (i32.const ${OK}))
  (call $check (i32.const 3) (call $close (call $cmdraw)) (i32.const ${OK}))
  (block $d (loop $l (br_if $d (i32.ge_u (local.get $i) (i32.const 1000)))
    (drop (call $s0 (i32.const 0x56))) (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $l)))
  (call $check (i32.const 4) (call $write (call $cmdout) (i32.const ${FAILURE_BYTES.length}) (i32.const 0x6000) (i32.const 0)) (i32.const ${OK}))`,
  `(data (i32.const 0x6000) "${watBytes(FAILURE_BYTES)}") (data (i32.const 0x6100) "partial")`,
  "(local $i i32)",
);

/** Reads CMDIN to its end, then writes "end" and a line break to CMDRAW (it acts on the end). */
const SAW_END_APP = commandApp(
  `(block $done (loop $more
    (local.set $s (call $read (call $cmdin) (i32.const 0) (i32.const 0x10000) (i32.const 0)))
    (br_if $done (i32.eq (local.get $s) (i32.const ${E(0x31)})))
    (call $check (i32.const 3) (local.get $s) (i32.const ${OK}))
    (br $more)))
  (call $check (i32.const 4) (call $write (call $cmdraw) (i32.const 4) (i32.const 0x6000) (i32.const 0)) (i32.const ${OK}))`,
  '(data (i32.const 0x6000) "end\\0a")',
  "(local $s i32)",
);

/**
 * Says READY (signals are delivered from then on), then hands over (sleeps ~1 ms, syscalls 0x56)
 * until its TERMINATE handler, if it has one, sets the flag at 0x3000.
 */
const IDLE = `(call $check (i32.const 91) (call $s0 (i32.const 0x04)) (i32.const ${OK}))
  (loop $idle (if (i32.eqz (i32.atomic.load (i32.const 0x3000))) (then (drop (call $s0 (i32.const 0x56))) (br $idle))))`;
/** IDLE with no signal handler (TERMINATE is ignored; WILL_TERMINATE's default action kills). */
const IDLE_APP = commandApp(IDLE);
/** IDLE, with a TERMINATE handler: it ends (exit data 0). */
const QUIT_APP = commandApp(
  `(call $check (i32.const 90) (call $s8_64 (i32.const 0x01) (i32.const 0x4e) (i64.const 1)) (i32.const ${OK})) ${IDLE}`,
  `(elem (i32.const 1) $quit)
  (func $quit (param $sig i32) (param $df i32) (result i64) (i32.atomic.store (i32.const 0x3000) (i32.const 1)) (i64.const 0))`,
);

const install = (slug: string, wat: string, commands: string) =>
  installCommandApp(home, slug, wat, commands);

const sizeArg = (cmd: string) =>
  `[commands.${cmd}.args.n]\nsyntax = "pos"\ntype = "int"\nhelp = "How many bytes"\n`;

beforeAll(() => {
  install(
    "rawer",
    producerApp("cmdraw", false),
    `[commands.raw]\nhelp = "n bytes of a on CMDRAW"\n${sizeArg("raw")}`,
  );
  install(
    "blober",
    producerApp("cmdout", true),
    `[commands.blob]\nhelp = "A string of n bytes"\nreturn = "string"\n${sizeArg("blob")}`,
  );
  install(
    "counter",
    COUNT_CMDIN_APP,
    `[commands.scount]\nhelp = "Count a stream"\ncmdin = "stream"\nreturn = "int"\n` +
      `[commands.tcount]\nhelp = "Count a typed input's bytes"\ncmdin = "string"\nreturn = "int"\n`,
  );
  install("catter", CAT_APP, `[commands.scat]\nhelp = "CMDIN to CMDRAW"\ncmdin = "stream"\n`);
  install(
    "header",
    HEAD_APP,
    `[commands.head]\nhelp = "What came first"\ncmdin = "stream"\nreturn = "int"\n`,
  );
  install("idler", IDLE_APP, `[commands.idle]\nhelp = "Runs until stopped"\ncmdin = "stream"\n`);
  install("quitter", QUIT_APP, `[commands.quits]\nhelp = "Ends on TERMINATE"\ncmdin = "stream"\n`);
  install(
    "latefailer",
    FAIL_LATE_APP,
    `[commands.faillate]\nhelp = "Fails late"\nreturn = "string"\n`,
  );
  install(
    "endseer",
    SAW_END_APP,
    `[commands.sawend]\nhelp = "Says it saw the end"\ncmdin = "stream"\n`,
  );
  install("failer", FAIL_RAW_APP, `[commands.failraw]\nhelp = "Fails"\nreturn = "string"\n`);
}, 300_000);

/** `ncw hydre -c script`. */
const hydre = (script: string, timeout = 120_000) => hydreIn(home, script, timeout);

const watched = (script: string) => hydreWatched(home, script);

describe('a pipeline of app commands (docs/hydre.md "Pipes")', () => {
  it("a stream flows from a's CMDRAW into b's CMDIN, every byte", () => {
    const r = hydre("raw 3000000 | scount");
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("3000000\n");
    expect(r.code).toBe(0);
  });

  it("both run at once: a producer that never ends is read by a command that stops after its first bytes, and then ends (its write fails)", () => {
    // 2^60 bytes: run one after the other (or with a's output held whole) this never ends.
    const r = hydre('let n = $(raw 1152921504606846976 | head)\necho "first read: $n"', 60_000);
    expect(r.signal).toBeNull();
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const n = Number(/^first read: (\d+)$/m.exec(r.stdout)?.[1]);
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThanOrEqual(65536);
  });

  it("300 MB through `|` with the CLI's memory bounded: the bytes never pass through it", async () => {
    const bytes = 300_000_000;
    const r = await watched(`raw ${bytes} | scount`);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(`${bytes}\n`);
    expect(r.code).toBe(0);
    // Node and the CLI's modules take ~60-90 MB; a copy of the stream would be 300 MB more.
    expect(r.peakKiB).toBeGreaterThan(0);
    expect(r.peakKiB).toBeLessThan(160 * 1024);
  }, 180_000);

  it("three commands: a | b | c, each one's CMDRAW the next one's CMDIN", () => {
    const r = hydre("raw 5000000 | scat | scount");
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("5000000\n");
    expect(r.code).toBe(0);
  });

  it("a typed value between two apps, both running: b's CMDIN holds a's whole value, encoded", () => {
    // blob's string of 1,000,000 bytes: its encoding is 17 bytes more (length, type, string length).
    const r = hydre("blob 1000000 | tcount");
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("1000017\n");
    expect(r.code).toBe(0);
  });

  it("a native command's value into a stream input: its text, as UTF-8", () => {
    const r = hydre('echo "h\u00e9llo" | scount\npass 42 | scount');
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("6\n2\n");
    expect(r.code).toBe(0);
  });

  it("a failing command fails the line; the command after it, waiting for its value, is killed", () => {
    // tcount waits for its CMDIN to close, which never comes: only the kill ends it.
    const r = hydre("failraw | tcount\necho after");
    // failraw's CMDRAW goes to the terminal (tcount reads its typed value, not its bytes).
    expect(r.stdout).toBe("partialafter\n");
    expect(r.stderr).toContain("error: the command `failraw` failed");
    expect(r.code).toBe(0);
  });

  it("a failing command before a stream: the line fails, the reader's value is dropped", () => {
    const r = hydre("failraw | scount");
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("error: the command `failraw` failed");
    expect(r.code).toBe(1);
    const caught = hydre(
      'catch $(failraw | scount)\n  ok n => echo "never: $n"\n  err e => echo "caught"\nend',
    );
    expect(caught.stdout).toBe("caught\n");
    expect(caught.code).toBe(0);
  });

  it("a stream's reader never sees its end before its producer is known not to have failed", () => {
    // The end of a stream is its producer's success: sawend acts on it ("end") only then.
    const ok = hydre("raw 5 | sawend");
    expect(ok.stderr).toBe("");
    expect(ok.stdout).toBe("end\n");
    expect(ok.code).toBe(0);
    // faillate closes its CMDRAW ~1 s before it fails; failraw fails and ends at once: the kernel
    // holds the stream open until the CLI knows, and the reader is killed instead.
    for (const producer of ["faillate", "failraw"]) {
      const r = hydre(`${producer} | sawend`);
      expect(r.stdout, producer).toBe("");
      expect(r.stderr).toContain(`error: the command \`${producer}\` failed`);
      expect(r.code).toBe(1);
    }
  });

  it("the type checks still come before anything runs", () => {
    const r = hydre('echo "never"\nraw 10 | tcount');
    expect(r.code).toBe(65);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("reads a string from CMDIN, the command before it returns");
    const none = hydre("raw 10 | raw 10");
    expect(none.code).toBe(65);
    expect(none.stderr).toContain("HYDRE_NO_CMDIN");
  });

  it("the kernel refuses a run whose CMDIN names a CMDRAW no earlier run of its connection hands on", async () => {
    const c = await client.connectKernel(openHome(home.home), { start: true });
    if (c === undefined) throw new Error("no kernel");
    try {
      const startup = {
        kind: "command" as const,
        callerAnid: 0,
        command: "scount",
        rawOutputRead: true,
      };
      const req = { path: "ncwtest::counter", args: [], startup, trace: false, priority: 10 };
      const events = { started: () => {}, trace: () => {} };
      // No run 999 on this connection; and a run that hands its CMDRAW on, taken twice.
      const none = client.startRun(c, { ...req, cmdinFrom: 999 }, events);
      await expect(none.done).rejects.toMatchObject({ code: "RUN_PIPE_FROM" });
      const first = client.startRun(
        c,
        { ...req, path: "ncwtest::rawer", startup: { ...startup, command: "raw" }, cmdraw: "next" },
        events,
      );
      const taker = client.startRun(c, { ...req, cmdinFrom: first.id }, events);
      const second = client.startRun(c, { ...req, cmdinFrom: first.id }, events);
      await expect(second.done).rejects.toMatchObject({ code: "RUN_PIPE_FROM" });
      // raw's argument is missing (its context holds none): it ends at once; once told it did not
      // fail, the kernel lets its CMDRAW end, and the taker reads it to its end.
      await first.done;
      const pid = first.pid();
      if (pid === undefined) throw new Error("no pid");
      c.send({ t: "command-raw-done", pid });
      await taker.done;
    } finally {
      c.close();
    }
  });
});

describe('Ctrl-C on a pipeline (docs/hydre.md "Pipes")', () => {
  /** The PIDs of the running processes of `aid` (`ncw ps --json`). */
  const pidsOf = (aid: string): number[] => {
    const r = home.ncw(["ps", "--json"]);
    if (r.code !== 0) return [];
    const ps = JSON.parse(r.stdout) as { processes: { pid: number; name: string }[] };
    return ps.processes.filter((p) => p.name === aid).map((p) => p.pid);
  };

  it("SIGINT stops every command of `a | b | c`, each step naming every PID it acts on", async () => {
    const child = home.spawnNcw(["hydre", "-c", "idle | quits | idle\necho after"]);
    const exited = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
    let idle: number[] = [];
    let quits: number[] = [];
    const up = await waitFor(
      () => {
        idle = pidsOf("ncwtest::idler");
        quits = pidsOf("ncwtest::quitter");
        return idle.length === 2 && quits.length === 1;
      },
      60_000,
      200,
    );
    expect(up, child.output()).toBe(true);
    const [a, c] = idle.sort((x, y) => x - y) as [number, number];
    const b = quits[0] as number;
    // The first asks all three to terminate: quits does (its handler exits), the idlers ignore it.
    child.kill("SIGINT");
    const all = [a, b, c].sort((x, y) => x - y);
    expect(
      await waitFor(() =>
        child
          .output()
          .includes(
            `ncw: sent TERMINATE to processes ${all[0]}, ${all[1]} and ${all[2]} (Ctrl-C again to force them)`,
          ),
      ),
      child.output(),
    ).toBe(true);
    expect(await waitFor(() => pidsOf("ncwtest::quitter").length === 0, 30_000, 200)).toBe(true);
    expect(pidsOf("ncwtest::idler").sort((x, y) => x - y)).toEqual([a, c]);
    // The second forces the two still running (WILL_TERMINATE, no handler: killed), naming them only.
    await new Promise((r) => setTimeout(r, 300));
    child.kill("SIGINT");
    const code = await exited;
    expect(child.output()).toContain(
      `ncw: sent WILL_TERMINATE to processes ${a} and ${c} (Ctrl-C again to kill them now)`,
    );
    expect(pidsOf("ncwtest::idler")).toEqual([]);
    // Killed without a value, the commands have not failed (as a command that ends without one):
    // the line is not reported and the script goes on.
    expect(child.output()).not.toContain("error:");
    expect(child.output()).toMatch(/\nafter\n$/);
    expect(code).toBe(0);
  }, 120_000);
});

describe('`$@(…)`: a command\'s CMDRAW as a stream the script holds (docs/hydre.md "Streams held by the script")', () => {
  it("the command runs while the script goes on; its CMDRAW is read when the stream is", () => {
    const r = hydre(
      `let s = $@(raw 5)\necho "held"\necho -b $s\necho "\${s.pending()} \${s.size_hint()}"\n` +
        "let t = $@(raw 3000000 | scat)\npass $t | scount",
    );
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("held\naaaaa\nfalse null\n3000000\n");
    expect(r.code).toBe(0);
  });

  it("300 MB through a held stream into a command with the CLI's memory bounded", async () => {
    const bytes = 300_000_000;
    const r = await watched(`let s = $@(raw ${bytes})\npass $s | scount`);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(`${bytes}\n`);
    expect(r.code).toBe(0);
    // The bytes pass through the CLI here, 4 MiB queued at most: never the stream whole.
    expect(r.peakKiB).toBeGreaterThan(0);
    expect(r.peakKiB).toBeLessThan(160 * 1024);
  }, 180_000);

  it("a producer that never ends: read as far as the reader wants, dropped at the script's end", () => {
    // 2^60 bytes: the stream is never read whole; the script ends, raw's writes then fail.
    const r = hydre('let s = $@(raw 1152921504606846976)\npass $s | head\necho "done"', 60_000);
    expect(r.signal).toBeNull();
    expect(r.stderr).toBe("");
    const [n, done] = r.stdout.split("\n");
    expect(Number(n)).toBeGreaterThan(0);
    expect(Number(n)).toBeLessThanOrEqual(65536);
    expect(done).toBe("done");
    expect(r.code).toBe(0);
  });

  it("a failed command's stream never ends for its reader: reading its end fails", () => {
    const r = hydre("let s = $@(failraw)\npass $s | sawend");
    // sawend never sees an end to act on: it is killed, and the line fails.
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("the command `failraw` failed");
    expect(r.code).toBe(1);
    const echoed = hydre("let s = $@(failraw)\necho -b $s");
    expect(echoed.stdout).toBe("");
    expect(echoed.stderr).toContain("echo: the command `failraw` failed");
    expect(echoed.code).toBe(1);
  });

  it("`command.cmdraw()`: an app command value's CMDRAW, as `$@(…)` gives it", () => {
    const r = hydre(
      "let c = @{ raw 7 }\nlet s = c.cmdraw()\necho -b $s\nlet f = @{ failraw }.cmdraw()\necho -b $f",
    );
    expect(r.stdout).toBe("aaaaaaa\n");
    expect(r.stderr).toContain("echo: the command `failraw` failed");
    expect(r.code).toBe(1);
  });

  it("checked before anything runs: app commands only, no redirection", () => {
    const native = hydre('echo "never"\nlet s = $@(echo "x")');
    expect(native.code).toBe(65);
    expect(native.stdout).toBe("");
    expect(native.stderr).toContain("`$@(…)` takes app commands only");
    const redirected = hydre("let s = $@(raw 1 > ./f.txt)");
    expect(redirected.code).toBe(65);
    expect(redirected.stderr).toContain("HYDRE_REDIRECT");
  });
});
