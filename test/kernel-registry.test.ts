// The kernel's signal delays come from the home's registry (specs/registry.md system.processes.*;
// docs/kernel.md "Signals"): changing the stored value changes the delay of the next process.

import { afterAll, describe, expect, it } from "vitest";
import { homeLayout } from "../ncw/home.js";
import { openTree } from "../services/fs/open.js";
import { Registry } from "../services/registry/registry.js";
import { OK, program, TestHome, waitFor } from "./kernel-helpers.js";

// No NCW_*_DELAY_MS here: the registry decides.
const home = new TestHome();
afterAll(() => home.cleanup());

const READY = `(call $check (i32.const 91) (call $s0 (i32.const 0x04)) (i32.const ${OK}))`;
/** Handles WILL_TERMINATE by exiting with the delay its datafield carries (u16 at the datafield). */
const WAT = program(
  `(call $check (i32.const 90) (call $s8_64 (i32.const 0x01) (i32.const 0x4f) (i64.const 1)) (i32.const ${OK}))
   ${READY} (loop $spin (br $spin))`,
  `(elem (i32.const 1) $w)
   (func $w (param $sig i32) (param $df i32) (result i64)
     (call $exit (i64.div_u (i64.extend_i32_u (i32.load16_u (local.get $df))) (i64.const 10))) (i64.const 0))`,
);

async function setDelay(key: "system.processes.terminate_delay", ms: number | string) {
  const fs = await openTree(homeLayout(home.home));
  try {
    await (await Registry.open(fs)).set(key, ms);
  } finally {
    await fs.close();
  }
}

async function delaySeen(): Promise<number | null> {
  const child = home.spawnRun(WAT);
  const exited = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
  expect(await waitFor(() => /READY \{\} -> ok/.test(child.output()), 30_000)).toBe(true);
  child.kill("SIGTERM");
  return exited;
}

describe("system.processes.terminate_delay", () => {
  it("is the spec's default (2000 ms) until the registry holds a value, then the stored value", async () => {
    expect(await delaySeen()).toBe(200);
    await setDelay("system.processes.terminate_delay", 700);
    expect(await delaySeen()).toBe(70);
    await setDelay("system.processes.terminate_delay", "1230ms");
    expect(await delaySeen()).toBe(123);
  }, 120_000);

  it("refuses values the datafield cannot carry", async () => {
    await expect(setDelay("system.processes.terminate_delay", 70000)).rejects.toThrow(/0\.\.65535/);
    await expect(setDelay("system.processes.terminate_delay", "soon")).rejects.toThrow(
      /milliseconds/,
    );
  });
});
