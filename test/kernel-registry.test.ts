// The kernel's signal delays come from the home's registry (specs/registry.md system.processes.*;
// docs/kernel.md "Signals", docs/registry.md "Who reads what"): a value changed with `ncw registry set`
// applies to the next run, and on a running kernel to the next signal, without restarting anything.

import { afterAll, describe, expect, it } from "vitest";
import { OK, program, TestHome, waitFor } from "./kernel-helpers.js";

// No NCW_*_DELAY_MS here: the registry decides.
const home = new TestHome();
afterAll(() => home.cleanup());

const READY = `(call $check (i32.const 91) (call $s0 (i32.const 0x04)) (i32.const ${OK}))`;
/** Handles WILL_TERMINATE by exiting with the delay its datafield carries (u16 at the datafield) / 10. */
const WAT = program(
  `(call $check (i32.const 90) (call $s8_64 (i32.const 0x01) (i32.const 0x4f) (i64.const 1)) (i32.const ${OK}))
   ${READY} (loop $spin (br $spin))`,
  `(elem (i32.const 1) $w)
   (func $w (param $sig i32) (param $df i32) (result i64)
     (call $exit (i64.div_u (i64.extend_i32_u (i32.load16_u (local.get $df))) (i64.const 10))) (i64.const 0))`,
);

function set(value: string) {
  const r = home.ncw(["registry", "set", "system.processes.terminate_delay", value]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
}

/** Start the program; resolves once it is READY, with a function that terminates it and gives its exit code. */
async function started(): Promise<() => Promise<number | null>> {
  const child = home.spawnRun(WAT);
  const exited = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
  expect(await waitFor(() => /READY \{\} -> ok/.test(child.output()), 30_000)).toBe(true);
  return () => {
    child.kill("SIGTERM");
    return exited;
  };
}

describe("system.processes.terminate_delay", () => {
  it("is the spec's default (2000 ms) until the registry holds a value, then the stored value", async () => {
    expect(await (await started())()).toBe(200);
    set("700ms");
    expect(await (await started())()).toBe(70);
    set("1s 230ms");
    expect(await (await started())()).toBe(123);
  }, 120_000);

  it("changes on the running kernel: a process started before the change gets the new delay", async () => {
    const terminate = await started();
    const kernel = home.kernelPid();
    expect(kernel).toBeDefined();
    set("450ms");
    // The set went through the running kernel (its tree's writer), which re-read the registry.
    expect(home.kernelPid()).toBe(kernel);
    expect(await terminate()).toBe(45);
    expect(home.kernelPid()).toBe(kernel);
  }, 120_000);

  it("refuses values the datafield cannot carry, and keeps the one it has", () => {
    const r = home.ncw(["registry", "set", "system.processes.terminate_delay", "70000ms"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /more than 65535ms: the signal's datafield carries it in 2 bytes \(0\.\.65535 ms/,
    );
    const s = home.ncw(["registry", "set", "system.processes.terminate_delay", "soon"]);
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(/"soon" is not a duration: write numbers each followed by a unit/);
    expect(home.ncw(["registry", "get", "system.processes.terminate_delay"]).stdout).toBe(
      "450ms\n",
    );
  }, 60_000);
});
