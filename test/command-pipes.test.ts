// Black-box tests of the six command pipes (specs/shell.md "Command pipes", "Interactivity";
// specs/applications.md "Execution Context", "Returning and failing"; docs/ipc.md "Command pipes",
// docs/cli.md "Commands") through `ncw run`: WAT apps that find their pipes in their execution context,
// messages rendered plain and in ANSI, an invalid message, stdin through CMDIN, CMDRAW to stdout, typed
// return values, a failing command, the faulty-process rule, two commands piped through the host
// shell, and CMDUSR with the reserved keys on a real pseudo-terminal.

import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { openSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { encodeTextMessage } from "../commonassembly/abi/text-message.js";
import { encodeValue, FAILURE_BYTES, type Value } from "../commonassembly/abi/values.js";
import { skipUnless } from "./btrfs-oracle.js";
import { CAT_APP, commandApp, watBytes } from "./command-helpers.js";
import { E, NCW, OK, TestHome } from "./kernel-helpers.js";

const home = new TestHome({ NCW_SUSPEND_DELAY_MS: "60000", NCW_TERMINATE_DELAY_MS: "60000" });
afterAll(() => home.cleanup());

const PTY_DRIVER = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  "helpers",
  "pty-drive.py",
);

/**
 * `ncw run app` on a pseudo-terminal driven by `steps` (test/helpers/pty-drive.py), then `exit=<code>`
 * and `stty -a` on the same terminal, so the output shows whether its mode came back.
 */
function onTerminal(app: string, steps: unknown[], env: Record<string, string> = {}) {
  const driver = spawnSync(
    "python3",
    [
      PTY_DRIVER,
      "sh",
      "-c",
      `"${process.execPath}" "${NCW}" run "${app}"; echo "exit=$?"; stty -a`,
    ],
    { env: home.envFor(env), input: JSON.stringify(steps), timeout: 120_000 },
  );
  let res: { output: string; failed: string | null };
  try {
    res = JSON.parse(driver.stdout.toString());
  } catch {
    throw new Error(`the pty driver exited ${driver.status}:\n${driver.stderr}`);
  }
  return { ...res, driver };
}

/** The terminal is back in cooked mode after `marker`: canonical input and echo on. */
function expectCooked(output: string, marker: string): void {
  const stty = output.slice(output.indexOf(marker));
  expect(stty).toMatch(/(^|\s)icanon(\s|$)/);
  expect(stty).toMatch(/(^|\s)echo(\s|$)/);
}

/** Data segments placing `bytes` at `at`; returns the WAT and the length. */
function at(addr: number, bytes: Uint8Array): { wat: string; len: number; addr: number } {
  return { wat: `(data (i32.const ${addr}) "${watBytes(bytes)}")`, len: bytes.length, addr };
}

/** Write the bytes placed by `at` to a pipe in blocking mode; check it succeeded (exit 2 if not). */
const send = (pipe: string, d: { addr: number; len: number }) =>
  `(call $check (i32.const 2) (call $write (call $${pipe}) (i32.const ${d.len}) (i32.const ${d.addr}) (i32.const 0)) (i32.const ${OK}))`;

const msg = (text: string) => encodeTextMessage({ text });

/** A file with `wat` in the test home; its path. */
const file = (wat: string) => home.write(`c${Math.random().toString(36).slice(2)}.wat`, wat);

function run(
  wat: string,
  opts: { input?: Uint8Array | string; env?: Record<string, string>; args?: string[] } = {},
) {
  const r = spawnSync(process.execPath, [NCW, "run", ...(opts.args ?? []), file(wat)], {
    env: home.envFor(opts.env),
    input: opts.input ?? "",
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.toString("utf8") };
}

/** An app that returns `v` on CMDOUT (then exits with exit data 9). */
function returning(v: Uint8Array): string {
  const d = at(0x6000, v);
  return commandApp(`${send("cmdout", d)} (call $exit (i64.const 9))`, d.wat);
}

/** Counts CMDIN's bytes until it closes and returns the count as an int (a NightOS `wc -c`). */
const WC = commandApp(
  `(block $done (loop $more
    (local.set $s (call $read (call $cmdin) (i32.const 0) (i32.const 0x10000) (i32.const 0)))
    (br_if $done (i32.eq (local.get $s) (i32.const ${E(0x31)})))
    (call $check (i32.const 3) (local.get $s) (i32.const ${OK}))
    (local.set $n (i64.add (local.get $n) (i64.extend_i32_u (call $r32))))
    (br $more)))
  ;; the value: length 9, type 0x02 (int), the count
  (i64.store (i32.const 0x6000) (i64.const 9)) (i32.store8 (i32.const 0x6008) (i32.const 0x02))
  (i64.store (i32.const 0x6009) (local.get $n))
  (call $check (i32.const 5) (call $write (call $cmdout) (i32.const 17) (i32.const 0x6000) (i32.const 0)) (i32.const ${OK}))`,
  "",
  "(local $s i32) (local $n i64)",
);

describe("command pipes through ncw run", () => {
  it("CMDMSG to stdout, plain when piped; CMDERR to stderr; an invalid message shows U+FFFD", () => {
    const hello = at(
      0x6000,
      encodeTextMessage({ fg: { r: 255, g: 0, b: 0 }, style: 0x80, text: "Hello\n" }),
    );
    const bad = at(0x6100, Uint8Array.of(0, 0, 0)); // shorter than the 8-byte header
    const badCtl = at(0x6200, Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 1, 0x09, 0x01, 0x41)); // code 0x09
    const moved = at(0x6300, encodeTextMessage({ controls: [{ code: 3, data: 5 }], text: "x\n" }));
    const oops = at(0x6400, msg("oops\n"));
    const wat = commandApp(
      `${send("cmdmsg", hello)} ${send("cmdmsg", bad)} ${send("cmdmsg", badCtl)} ${send("cmdmsg", moved)} ${send("cmderr", oops)}`,
      [hello, bad, badCtl, moved, oops].map((d) => d.wat).join("\n"),
    );
    const plain = run(wat);
    expect(plain.code).toBe(0);
    expect(plain.stdout.toString("utf8")).toBe("Hello\n\u{FFFD}\u{FFFD}x\n");
    expect(plain.stderr).toBe("oops\n");

    // Colours forced on a pipe: the spec's RGB, style and cursor move as ANSI; CMDERR red by convention.
    const ansi = run(wat, { env: { NO_COLOR: "", FORCE_COLOR: "1" } });
    expect(ansi.stdout.toString("utf8")).toBe(
      "\x1b[1;38;2;255;0;0mHello\n\x1b[0m\u{FFFD}\u{FFFD}\x1b[5Cx\n",
    );
    expect(ansi.stderr).toBe("\x1b[31moops\n\x1b[0m");
  });

  it("stdin goes to CMDIN, closed at its end; CMDRAW's bytes go to stdout unchanged", () => {
    const input = randomBytes(300_000);
    const r = run(CAT_APP, { input });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(Buffer.compare(r.stdout, input)).toBe(0);
    // An empty input closes CMDIN at once.
    expect(run(CAT_APP).stdout.length).toBe(0);
  });

  it("the startup reason's bit 5 says CMDRAW is read when stdout is a pipe", () => {
    // Byte 0 of the header: code 0x8 in the high nibble, bit 5 (0x04) when the raw output is read.
    const yes = at(0x6000, msg("read"));
    const no = at(0x6100, msg("not read"));
    const wat = commandApp(
      `(if (i32.and (i32.load8_u (i32.const 0x4000)) (i32.const 0x04))
        (then ${send("cmdmsg", yes)}) (else ${send("cmdmsg", no)}))`,
      `${yes.wat}\n${no.wat}`,
    );
    expect(run(wat).stdout.toString()).toBe("read");
  });

  it("typed return values are printed readably, and as typed JSON with --json; exit 0", () => {
    const int = run(returning(encodeValue({ type: "int", value: -42n })));
    expect(int.code).toBe(0);
    expect(int.stdout.toString()).toBe("-42\n");
    const list: Value = {
      type: "list",
      items: [
        { type: "string", value: "a b" },
        { type: "bool", value: true },
        { type: "char", value: "é" },
      ],
    };
    expect(run(returning(encodeValue(list))).stdout.toString()).toBe('["a b", true, "é"]\n');
    expect(
      run(returning(encodeValue({ type: "string", value: "Hello, Ada!" }))).stdout.toString(),
    ).toBe("Hello, Ada!\n");
    const json = run(returning(encodeValue({ type: "int", value: 7n })), { args: ["--json"] });
    const doc = JSON.parse(json.stdout.toString());
    expect(doc.returned).toEqual({ type: "int", value: 7 });
    expect(doc.failed).toBe(false);
    expect(doc.exitCode).toBe(0);
  });

  it("every value type on CMDOUT, from bytes written out by hand: printed and as typed JSON", () => {
    // A list of one item of each type (applications.md "Values encoding"): in a list each item is its
    // type code and representation, without a length of its own.
    const items = [
      "01 01", // bool true
      "02 feffffffffffffff", // int -2
      "03 000000000000f83f", // float 1.5
      "04 e9000000", // char é (UTF-32)
      "05 0200000000000000 6869", // string "hi"
      "07 0200000000000000 2f78", // path "/x"
      "08 0200000000000000 6c73", // command "ls"
      "09 0500000000000000", // stream: RC identifier 5
      "06 0100000000000000 05 0100000000000000 61", // list ["a"]
      "00", // void
    ];
    const bytes = Buffer.from(
      `6000000000000000 06 0a00000000000000 ${items.join(" ")}`.replace(/\s+/g, ""),
      "hex",
    );
    expect(bytes.length).toBe(8 + 0x60);
    const app = returning(bytes);
    const text = run(app);
    expect(text.stderr).toBe("");
    expect(text.stdout.toString()).toBe(
      '[true, -2, 1.5, "é", "hi", "/x", "ls", stream 5, ["a"], void]\n',
    );
    const doc = JSON.parse(run(app, { args: ["--json"] }).stdout.toString());
    expect(doc.returned).toEqual({
      type: "list",
      items: [
        { type: "bool", value: true },
        { type: "int", value: -2 },
        { type: "float", value: 1.5 },
        { type: "char", value: "é" },
        { type: "string", value: "hi" },
        { type: "path", value: "/x" },
        { type: "command", value: "ls" },
        { type: "stream", rc: 5 },
        { type: "list", items: [{ type: "string", value: "a" }] },
        { type: "void" },
      ],
    });
  });

  it("a failing command (the 0xFF value) exits 1 without being killed", () => {
    const r = run(returning(FAILURE_BYTES), { args: ["--json"] });
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout.toString());
    expect(doc).toMatchObject({ failed: true, faulty: null, reason: null, returned: null });
    // The failure ends the command as a value does: the CLI may see it before the process' end
    // ("returned") or after ("exited", with its exit data); never killed.
    if (doc.outcome === "exited") expect(doc.exitData).toBe(9);
    else expect(doc.outcome).toBe("returned");
    // The lone 0xFF byte, then the end of the process, is the same failure.
    const bare = run(returning(Uint8Array.of(0xff)));
    expect(bare.code).toBe(1);
    expect(bare.stderr).toMatch(/failed/);
  });

  it("faulty: a process that ends, or closes CMDOUT, before its value is whole is killed and reported", () => {
    // 5 of the 17 bytes of an int, then the process ends.
    const ended = run(returning(encodeValue({ type: "int", value: 1n }).subarray(0, 5)));
    expect(ended.code).toBe(137);
    expect(ended.stderr).toMatch(/is faulty: it ended after 5 of at least 8 bytes/);
    // 12 of 17 bytes, then CLOSE_PIPE, then it waits for ever: the kernel kills it.
    const part = at(0x6000, encodeValue({ type: "int", value: 1n }).subarray(0, 12));
    const closed = commandApp(
      `${send("cmdout", part)} (call $check (i32.const 6) (call $close (call $cmdout)) (i32.const ${OK}))
      (loop $forever (br $forever))`,
      part.wat,
    );
    const r = run(closed, { args: ["--json"] });
    expect(r.code).toBe(137);
    const doc = JSON.parse(r.stdout.toString());
    expect(doc.outcome).toBe("killed");
    expect(doc.faulty).toMatch(/closed CMDOUT after 12 of 17 bytes/);
    expect(doc.reason).toMatch(/faulty command/);
    // An invalid value (unknown type code 0x0a) is faulty too.
    expect(run(returning(Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0, 0x0a))).code).toBe(137);
  });

  it("a whole value ends the command while its process runs on (suspended), away from the session", () => {
    const v = at(0x6000, encodeValue({ type: "int", value: 5n }));
    const wat = commandApp(
      `${send("cmdout", v)} (drop (call $s64 (i32.const 0x54) (i64.const 0)))`,
      v.wat,
    );
    const started = Date.now();
    const r = run(wat, { args: ["--json"] });
    expect(r.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(30_000);
    const doc = JSON.parse(r.stdout.toString());
    expect(doc).toMatchObject({ outcome: "returned", returned: { type: "int", value: 5 } });
    const ps = home.ncw(["ps", "--json"]).stdout;
    expect(ps).toMatch(new RegExp(`"pid": ${doc.pid}\\b`));
    expect(home.ncw(["kill", "--force", String(doc.pid)]).code).toBe(0);
  });

  it("stdout closed under a command (its reader went away): its CMDRAW writes fail and ncw ends", async () => {
    const big = home.write("big.bin", randomBytes(16 * 1024 * 1024));
    const child = spawn(process.execPath, [NCW, "run", file(CAT_APP)], {
      env: home.envFor(),
      stdio: [openSync(big, "r"), "pipe", "pipe"],
    });
    const first = await new Promise<Buffer>((res) => child.stdout?.once("data", res));
    child.stdout?.destroy();
    const code = await new Promise<number | null>((res) => child.on("exit", res));
    expect(first.length).toBeGreaterThan(0);
    // The app's PIPE_WRITE to CMDRAW answered 0x31, so its $check exits with 4.
    expect(code).toBe(4);
  }, 60_000);

  it("two commands piped through the host shell: cat | wc", () => {
    const input = randomBytes(200_000);
    const cat = file(CAT_APP);
    const wc = file(WC);
    const r = spawnSync(
      "sh",
      [
        "-c",
        `"${process.execPath}" "${NCW}" run "${cat}" | "${process.execPath}" "${NCW}" run "${wc}"`,
      ],
      { env: home.envFor(), input, timeout: 60_000 },
    );
    expect(r.stderr.toString()).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toBe("200000\n");
  });
});

/** Hex of the bytes a terminal sends. */
const hex = (s: string) => Buffer.from(s, "utf8").toString("hex");

/** Why the pseudo-terminal tests cannot run here (they drive a pty through python3's pty module). */
function ptyMissing(): string | undefined {
  const py = spawnSync("python3", ["-c", "import pty"]);
  return py.status === 0 ? undefined : "python3 with its pty module (apt-get install python3)";
}

describe.skipIf(skipUnless(ptyMissing()))(
  "CMDUSR and the reserved keys on a pseudo-terminal",
  () => {
    it("keystrokes arrive as 6-byte user inputs; Ctrl-., Ctrl-Shift-., Ctrl-C, Ctrl-Shift-C send their signals; the terminal is restored", () => {
      const names = ["SUSPEND", "WILL_SUSPEND", "TERMINATE", "WILL_TERMINATE"] as const;
      const sigMsgs = names.map((n, i) => at(0x6000 + i * 0x40, msg(`<${n}>`)));
      const ready = at(0x6200, msg("<ready>"));
      const raw = at(0x6240, msg("<tty>"));
      // Each input is echoed as "[" + 12 hex digits + "]" (a message built at 0x7000).
      const wat = commandApp(
        `(call $check (i32.const 90) (call $s8_64 (i32.const 0x01) (i32.const 0x44) (i64.const 1)) (i32.const ${OK}))
      (call $check (i32.const 91) (call $s8_64 (i32.const 0x01) (i32.const 0x45) (i64.const 2)) (i32.const ${OK}))
      (call $check (i32.const 92) (call $s8_64 (i32.const 0x01) (i32.const 0x4e) (i64.const 3)) (i32.const ${OK}))
      (call $check (i32.const 93) (call $s8_64 (i32.const 0x01) (i32.const 0x4f) (i64.const 4)) (i32.const ${OK}))
      (call $check (i32.const 94) (call $s0 (i32.const 0x04)) (i32.const ${OK}))
      (if (i32.eqz (i32.and (i32.load8_u (i32.const 0x4000)) (i32.const 0x04))) (then ${send("cmdmsg", raw)}))
      ${send("cmdmsg", ready)}
      (loop $more
        (local.set $s (call $read (call $cmdusr) (i32.const 0) (i32.const 0x7800) (i32.const 64)))
        (if (i32.eq (local.get $s) (i32.const ${OK})) (then
          (call $check (i32.const 7) (call $r32) (i32.const 6))
          (i32.store8 (i32.const 0x7008) (i32.const 0x5b))
          (local.set $i (i32.const 0))
          (loop $hex
            (i32.store8 (i32.add (i32.const 0x7009) (i32.mul (local.get $i) (i32.const 2)))
              (call $digit (i32.shr_u (i32.load8_u (i32.add (i32.const 0x7800) (local.get $i))) (i32.const 4))))
            (i32.store8 (i32.add (i32.const 0x700a) (i32.mul (local.get $i) (i32.const 2)))
              (call $digit (i32.and (i32.load8_u (i32.add (i32.const 0x7800) (local.get $i))) (i32.const 15))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $hex (i32.lt_u (local.get $i) (i32.const 6))))
          (i32.store8 (i32.const 0x7015) (i32.const 0x5d))
          (call $check (i32.const 8) (call $write (call $cmdmsg) (i32.const 22) (i32.const 0x7000) (i32.const 0)) (i32.const ${OK}))
          (br $more))))`,
        `${sigMsgs.map((d) => d.wat).join("\n")}\n${ready.wat}\n${raw.wat}
      (func $digit (param $v i32) (result i32)
        (if (result i32) (i32.lt_u (local.get $v) (i32.const 10))
          (then (i32.add (local.get $v) (i32.const 0x30))) (else (i32.add (local.get $v) (i32.const 0x57)))))
      (func $onSuspend (param i32 i32) (result i64) ${send("cmdmsg", sigMsgs[0] as { addr: number; len: number })} (i64.const 0))
      (func $onWillSuspend (param i32 i32) (result i64) ${send("cmdmsg", sigMsgs[1] as { addr: number; len: number })} (i64.const 0))
      (func $onTerminate (param i32 i32) (result i64) ${send("cmdmsg", sigMsgs[2] as { addr: number; len: number })} (i64.const 0))
      (func $onWillTerminate (param i32 i32) (result i64) ${send("cmdmsg", sigMsgs[3] as { addr: number; len: number })} (call $exit (i64.const 7)) (i64.const 0))
      (elem (i32.const 1) $onSuspend $onWillSuspend $onTerminate $onWillTerminate)`,
        "(local $s i32) (local $i i32)",
      );
      const app = file(wat);
      const steps = [
        { expect: "<ready>", send: hex("a") },
        { expect: "\\[000461000000\\]", send: hex("Z") },
        { expect: "\\[101d5a000000\\]", send: hex("\x1b[A") },
        { expect: "\\[005200000000\\]", send: hex("\x01") },
        { expect: "\\[400461000000\\]", send: hex("\x1b[46;5u") },
        { expect: "<SUSPEND>", send: hex("\x1b[46;6u") },
        { expect: "<WILL_SUSPEND>", send: hex("\x03") },
        { expect: "<TERMINATE>", send: hex("\x1b[27;6;67~") },
        { expect: "<WILL_TERMINATE>" },
      ];
      const res = onTerminal(app, steps);
      expect(res.driver.status, res.driver.stderr.toString()).toBe(0);
      expect(res.failed, res.output).toBeNull();
      expect(res.output).toContain("<tty>"); // stdout is the terminal: CMDRAW is not read
      expect(res.output).toMatch(/exit=7/);
      // Raw mode undone: canonical input and echo are on again, and the keyboard protocol popped.
      expectCooked(res.output, "exit=7");
      expect(res.output).toContain("\x1b[<u");
    }, 150_000);

    it("a message on a terminal: 24-bit colour and bold as ANSI; with NO_COLOR the bare text", () => {
      const styled = at(
        0x6000,
        encodeTextMessage({ fg: { r: 0x11, g: 0x22, b: 0x33 }, style: 0x80, text: "hi" }),
      );
      const wat = commandApp(send("cmdmsg", styled), styled.wat);
      const app = file(wat);
      const colour = onTerminal(app, [{ expect: "exit=0" }], {
        NO_COLOR: "",
        TERM: "xterm-256color",
      });
      expect(colour.failed, colour.output).toBeNull();
      expect(colour.output).toContain("\x1b[1;38;2;17;34;51mhi\x1b[0m");
      const plain = onTerminal(app, [{ expect: "exit=0" }], { NO_COLOR: "1" });
      expect(plain.failed, plain.output).toBeNull();
      expect(plain.output).toContain("hi");
      expect(plain.output).not.toContain("38;2;17;34;51");
    }, 150_000);

    it("Ctrl-C three times: TERMINATE, WILL_TERMINATE, then the kill; the terminal's mode is restored", () => {
      const ready = at(0x6000, msg("<ready>"));
      // Both signals handled by doing nothing, so only the third Ctrl-C (the kill) ends it.
      const wat = commandApp(
        `(call $check (i32.const 92) (call $s8_64 (i32.const 0x01) (i32.const 0x4e) (i64.const 1)) (i32.const ${OK}))
      (call $check (i32.const 93) (call $s8_64 (i32.const 0x01) (i32.const 0x4f) (i64.const 1)) (i32.const ${OK}))
      ${send("cmdmsg", ready)}
      (loop $more (drop (call $read (call $cmdusr) (i32.const 0) (i32.const 0x7800) (i32.const 64))) (br $more))`,
        `${ready.wat}
      (func $ignore (param i32 i32) (result i64) (i64.const 0))
      (elem (i32.const 1) $ignore)`,
      );
      const steps = [
        { expect: "<ready>", send: hex("\x03") },
        { expect: "sent TERMINATE", send: hex("\x03") },
        { expect: "sent WILL_TERMINATE", send: hex("\x03") },
        { expect: "killing process" },
      ];
      const res = onTerminal(file(wat), steps);
      expect(res.failed, res.output).toBeNull();
      expect(res.output).toMatch(/exit=137/);
      expectCooked(res.output, "exit=137");
      expect(res.output).toContain("\x1b[<u");
    }, 150_000);

    it("the kernel dying under a command on a terminal: ncw reports it and the terminal's mode is restored", () => {
      const ready = at(0x6000, msg("<ready>"));
      const wat = commandApp(
        `${send("cmdmsg", ready)}
      (loop $more (drop (call $read (call $cmdusr) (i32.const 0) (i32.const 0x7800) (i32.const 64))) (br $more))`,
        ready.wat,
      );
      const app = file(wat);
      const steps = [{ expect: "<ready>", kill: path.join(home.home, "run", "kernel.pid") }];
      const res = onTerminal(app, steps);
      expect(res.failed, res.output).toBeNull();
      expect(res.output).toMatch(/kernel server closed the connection/);
      expect(res.output).toMatch(/exit=69/);
      expectCooked(res.output, "exit=69");
    }, 150_000);
  },
);
