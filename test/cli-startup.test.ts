// Black-box tests of what `ncw` does at start-up (docs/cli.md, "Start-up"): `ncw --version` loads
// no argument parser, a warm `ncw run` neither (nor the builtins it does not need), and no command
// renders help text it was not asked for.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { NCW_JS } from "./helpers/ncw.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "ncw-startup-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const env = { ...process.env, NCW_HOME: path.join(tmp, "home"), NO_COLOR: "1" };

/** The modules (file URLs) `ncw args` loads, from a module-resolution hook. */
function modulesLoaded(
  args: string[],
  status = 0,
  opts: { env?: NodeJS.ProcessEnv; stdin?: "ignore" } = {},
): string[] {
  const hooks = path.join(tmp, "hooks.mjs");
  const log = path.join(tmp, "modules.log");
  writeFileSync(
    hooks,
    `import { appendFileSync } from "node:fs";
export async function resolve(spec, ctx, next) {
  const r = await next(spec, ctx);
  appendFileSync(${JSON.stringify(log)}, r.url + "\\n");
  return r;
}`,
  );
  const reg = path.join(tmp, "register.mjs");
  writeFileSync(
    reg,
    `import { register } from "node:module"; register(${JSON.stringify(pathToFileURL(hooks).href)});`,
  );
  rmSync(log, { force: true });
  const r = spawnSync(process.execPath, ["--import", reg, NCW_JS, ...args], {
    env: opts.env ?? env,
    stdio: [opts.stdin ?? "pipe", "pipe", "pipe"],
    encoding: "utf8",
  });
  expect(r.status, r.stderr).toBe(status);
  return readFileSync(log, "utf8").trim().split("\n");
}

/** The names of the functions sampled (every 50 µs) while `ncw args` ran, with their files. */
function functionsRun(args: string[]): string[] {
  const dir = mkdtempSync(path.join(tmp, "prof-"));
  const r = spawnSync(
    process.execPath,
    ["--cpu-prof", "--cpu-prof-interval", "50", "--cpu-prof-dir", dir, NCW_JS, ...args],
    { env, encoding: "utf8" },
  );
  expect(r.status, r.stderr).toBe(0);
  const profile = JSON.parse(readFileSync(path.join(dir, readdirSync(dir)[0]!), "utf8")) as {
    nodes: { callFrame: { functionName: string; url: string } }[];
  };
  return profile.nodes.map((n) => `${n.callFrame.functionName} ${n.callFrame.url}`);
}

describe("start-up", () => {
  it("ncw --version loads no argument parser", () => {
    const mods = modulesLoaded(["--version"]);
    expect(mods.some((m) => m.endsWith("/cli/ncw.js"))).toBe(true);
    expect(mods.filter((m) => m.includes("/node_modules/"))).toEqual([]);
  });

  it("a command does not render its help text unless asked", () => {
    const fns = functionsRun(["home"]);
    // yargs' usage renders in `cacheHelpMessage` and usage's `help` (`self.help`, `n.help` once
    // minified in its CommonJS bundle); the factory's own `help` method (declaring --help) is not it.
    expect(fns.filter((f) => /cacheHelpMessage|^\S+\.help |^help .*usage\.js$/.test(f))).toEqual(
      [],
    );
  });

  // The packages a command that runs or builds apps loads; a light command loads none of them.
  const HEAVY = ["binaryen", "wabt", "koffi", "@mongodb-js/zstd", "@node-rs/crc32", "chokidar"];
  const heavy = (mods: string[]) =>
    mods.filter((m) => HEAVY.some((h) => m.includes(`/node_modules/${h}/`)));

  it("ncw --help loads no heavy package and no command module", () => {
    const mods = modulesLoaded(["--help"]);
    expect(heavy(mods)).toEqual([]);
    expect(mods.filter((m) => /\/cli\/commands\/(?!index\.js)/.test(m))).toEqual([]);
  });

  it("ncw run of a missing file loads no heavy package", () => {
    const mods = modulesLoaded(["run", path.join(tmp, "missing.npp")], 66);
    expect(mods.some((m) => m.endsWith("/cli/commands/run.js"))).toBe(true);
    expect(heavy(mods)).toEqual([]);
  });

  it("a warm ncw run loads no yargs, and no node:crypto, child_process or worker_threads", () => {
    const hello = path.join(import.meta.dirname, "..", "dist", "examples", "hello.nap");
    const kernelEnv = { ...env, NCW_KERNEL_IDLE_MS: "20000" };
    try {
      // The first run starts the kernel (that one needs node:child_process).
      const first = spawnSync(process.execPath, [NCW_JS, "run", hello, "Ada"], {
        env: kernelEnv,
        encoding: "utf8",
      });
      expect(first.stdout, first.stderr).toBe("Hello, Ada!\n");
      // stdin /dev/null: no CMDIN pump thread (a socket, as spawnSync's pipe is, starts one).
      const mods = modulesLoaded(["run", hello, "Ada"], 0, { env: kernelEnv, stdin: "ignore" });
      expect(mods.some((m) => m.endsWith("/cli/commands/run.js"))).toBe(true);
      expect(mods.filter((m) => m.includes("/node_modules/yargs"))).toEqual([]);
      expect(mods.filter((m) => m.endsWith("/cli/parser.js"))).toEqual([]);
      const lazy = ["node:crypto", "node:child_process", "node:worker_threads"];
      expect(mods.filter((m) => lazy.includes(m))).toEqual([]);
    } finally {
      const pid = path.join(env.NCW_HOME, "run", "kernel.pid");
      if (existsSync(pid)) process.kill(Number(readFileSync(pid, "utf8")), "SIGTERM");
    }
  });

  it("yargs is loaded through its CommonJS bundle, not its 33 ES modules", () => {
    const mods = modulesLoaded(["home"]);
    expect(mods.filter((m) => m.includes("/node_modules/yargs/"))).toEqual([]);
  });
});
