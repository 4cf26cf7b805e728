// `ncw test`'s runner (docs/dev-loop.md "Running tests"): each test is one run of the project's test
// program on the home's kernel, as a command whose argument names the test, for a NightOS user of its
// own whose /home/<user> is a fresh Btrfs snapshot of a prepared home (tests/home/ copied into a
// subvolume once per `ncw test`), created before the test and dropped after it. Tests run `jobs` at a
// time, each slot on its own kernel connection; a test still running at `timeoutMs` is killed.

import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { decodeTextMessage } from "../../commonassembly/abi/text-message.js";
import { connectKernel, type KernelConnection, startRun } from "../../kernel-compat/client.js";
import type { CommandPipesClient, CommandReturn } from "../../kernel-compat/command-client.js";
import type { Outcome } from "../../kernel-compat/protocol.js";
import { RemoteFs } from "../../kernel-compat/tree-client.js";
import { hostProcessAlive } from "../../native/errors.js";
import { NcwError } from "../errors.js";
import type { HomeLayout } from "../home.js";
import type { TestCase } from "../project/tests.js";
import type { Puppet } from "./puppet.js";

export type TestStatus = "pass" | "fail" | "timeout" | "crash" | "skipped";

export interface TestResult {
  test: TestCase;
  status: TestStatus;
  ms: number;
  /** What the test printed on CMDMSG and CMDERR, as text. */
  messages: string;
  errors: string;
  /** The failed assertion's expected / actual lines (sdk/as/test.ts, sdk/c/nightos_test.h). */
  assertion?: { what: string; expected: string; actual: string };
  /** Why a crash, a timeout or a failure without an assertion. */
  reason?: string;
  /** The last lines of the test process' syscall trace. */
  trace: string[];
}

export interface RunOptions {
  jobs: number;
  timeoutMs: number;
  bail: boolean;
  /** A host folder copied into the prepared home (the project's tests/home/), if any. */
  prepared?: string;
  /** Trace lines kept per test (0: the test runs untraced). */
  traceLines: number;
  /** The tests' puppets by test id (ncw/testing/puppet.ts): their permissions and CMDIN. */
  puppets?: ReadonlyMap<string, Puppet>;
  onResult?(r: TestResult): void;
}

/**
 * The test homes' cost (the bench): each tree request that made a window of homes (and dropped those
 * of the tests that had ended), and how long each test waited for its home before it started.
 */
export interface SnapshotTimes {
  requests: { ms: number; made: number; dropped: number }[];
  waits: number[];
}

/** How many test homes one tree request makes (one commit for the window, not one per test). */
export const HOMES_WINDOW = 16;

/**
 * The tests' homes, snapshots of the template made a window at a time (docs/dev-loop.md "Isolation"):
 * one tree request — one commit — deletes the homes of the tests that ended since the last one and
 * snapshots the template as the next window's homes. The window after a test's is asked for while it
 * runs, off the tests' path.
 */
class TestHomes {
  private readonly windows = new Map<number, Promise<void>>();
  /** Homes made and not deleted yet. */
  private readonly alive = new Set<string>();
  /** Homes of ended tests, deleted by the next request. */
  private endedHomes: string[] = [];

  constructor(
    private readonly fs: RemoteFs,
    private readonly template: string,
    private readonly homeOf: (i: number) => string,
    private readonly count: number,
    private readonly ahead: number,
    readonly times: SnapshotTimes,
  ) {}

  /** Test `i`'s home is made (its window asked for if it was not), and the window after it asked for. */
  async ready(i: number): Promise<void> {
    const t = performance.now();
    const mine = this.window(Math.floor(i / HOMES_WINDOW));
    this.window(Math.floor((i + this.ahead) / HOMES_WINDOW)).catch(() => {});
    await mine;
    this.times.waits.push(performance.now() - t);
  }

  /** Test `i` has ended: its home goes with the next request (or the last one). */
  release(i: number): void {
    this.endedHomes.push(this.homeOf(i));
  }

  private window(w: number): Promise<void> {
    let p = this.windows.get(w);
    if (p !== undefined) return p;
    const first = w * HOMES_WINDOW;
    const dests: string[] = [];
    for (let i = first; i < Math.min(this.count, first + HOMES_WINDOW); i++)
      dests.push(this.homeOf(i));
    p = dests.length === 0 ? Promise.resolve() : this.request(dests);
    this.windows.set(w, p);
    return p;
  }

  private async request(dests: string[]): Promise<void> {
    const drop = this.endedHomes;
    this.endedHomes = [];
    const t = performance.now();
    try {
      await this.fs.subvolumes(drop, this.template, dests);
    } catch (e) {
      // None of it was done: the homes to delete wait for the next request.
      this.endedHomes.push(...drop);
      throw e;
    }
    this.times.requests.push({
      ms: performance.now() - t,
      made: dests.length,
      dropped: drop.length,
    });
    for (const d of drop) this.alive.delete(d);
    for (const d of dests) this.alive.add(d);
  }

  /** Deletes every home still there (ended, or made for tests --bail did not run) and the template. */
  async close(): Promise<void> {
    await Promise.allSettled(this.windows.values());
    const all = [...this.alive, this.template];
    const t = performance.now();
    try {
      await this.fs.subvolumes(all, this.template, []);
      this.times.requests.push({ ms: performance.now() - t, made: 0, dropped: this.alive.size });
    } catch {
      // One by one, so one that cannot go does not keep the others.
      for (const d of all) await this.fs.deleteSubvolume(d).catch(() => {});
    }
  }
}

/** Reads "assertion failed: <what>\n  expected: <e>\n  actual:   <a>" from CMDERR. */
export function parseAssertion(errors: string): TestResult["assertion"] {
  const m = /assertion failed: (.*)\n\s*expected: (.*)\n\s*actual: {3}(.*)/.exec(errors);
  if (m === null) return undefined;
  return { what: m[1] ?? "", expected: m[2] ?? "", actual: m[3] ?? "" };
}

/**
 * How long a failed test waits for its process' end, so that its trace lines, which may arrive after
 * its value, are all in its report (a process normally ends within milliseconds of its value).
 */
const FAILURE_TRACE_GRACE_MS = 1000;

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

function textOf(bytes: Uint8Array): string {
  const d = decodeTextMessage(bytes);
  return d.ok ? d.message.text : d.shown;
}

/** One test on `conn`, for `user`, to its end or its timeout. */
async function runOne(
  conn: KernelConnection,
  program: string,
  test: TestCase,
  user: string,
  opts: RunOptions,
): Promise<TestResult> {
  const start = performance.now();
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  let messages = "";
  let errors = "";
  const trace: string[] = [];
  const puppet = opts.puppets?.get(test.id);
  let client: CommandPipesClient | undefined;
  let opening: Promise<void> | undefined;
  let openFailed: Error | undefined;
  let returned!: (r: CommandReturn) => void;
  const returnedP = new Promise<CommandReturn>((r) => {
    returned = r;
  });
  const run = startRun(
    conn,
    {
      path: program,
      user,
      args: [{ type: "string", value: test.id }],
      startup: { kind: "command", callerAnid: 0, rawOutputRead: false },
      trace: opts.traceLines > 0,
      priority: 10,
      // A puppet's answers, given up front: any other check is refused (no terminal to ask on).
      ...(puppet === undefined ? {} : { allow: puppet.allow, deny: puppet.deny }),
    },
    {
      // The timeout counts from the start of the process: its AOT compile (the first test's) is not the test's.
      started: (pid) => {
        if (pid !== run.pid() || timer !== undefined) return;
        timer = setTimeout(() => {
          timedOut = true;
          run.kill();
        }, opts.timeoutMs);
      },
      trace: (_pid, line) => {
        trace.push(line);
        if (trace.length > opts.traceLines) trace.shift();
      },
      commandPipes: (pid, pipes) => {
        opening = (async () => {
          const { CommandPipesClient } = await import("../../kernel-compat/command-client.js");
          try {
            client = await CommandPipesClient.open(
              conn,
              pid,
              pipes,
              {
                message: (pipe, bytes) => {
                  if (pipe === "cmderr") errors += textOf(bytes);
                  else messages += textOf(bytes);
                },
                raw: () => true,
                rawDrained: async () => {},
              },
              puppet?.cmdin === undefined
                ? { kind: "none" }
                : { kind: "bytes", bytes: puppet.cmdin },
            );
            // What the puppet types, then the end of the input; nothing typed: it ends at once.
            for (const k of puppet?.cmdusr ?? []) client.sendUserInput(k);
            client.endUserInput();
            void client.returned.then(returned);
          } catch (e) {
            openFailed = e as Error;
          }
        })();
      },
    },
  );
  let outcome: Outcome | undefined;
  let ret: CommandReturn | undefined;
  try {
    const first = await Promise.race([
      run.done.then((o) => ({ o })),
      returnedP.then((r) => ({ r })),
    ]);
    // A command is over once its value is whole (shell.md "Command pipes"): the kernel no longer
    // reports its process to this session. The verdict is that value; a process still running after
    // it is killed, so nothing of the test outlives its snapshot (an ended one makes the kill a no-op).
    if ("o" in first) outcome = first.o;
    else {
      // A failure's report shows the end of the trace. Its lines travel runner → kernel → here, the
      // value over the command pipes: lines written before the value can arrive after it. The
      // process' end comes after all of its lines (the relay sends them first), so a failed, traced
      // test waits for that end, for a bounded time, before its process is killed.
      if (first.r.kind === "failure" && opts.traceLines > 0)
        await Promise.race([run.done, delay(FAILURE_TRACE_GRACE_MS)]);
      run.kill();
    }
    await opening;
    ret = client === undefined ? undefined : await client.finish();
  } finally {
    clearTimeout(timer);
    // The run is no longer followed: a late `exited` or trace line of it (the kernel may have sent its
    // end before it took the command as over) carries its run id, which the next test's run on `conn`
    // does not take for its own (docs/kernel.md "Runs on one connection").
    run.close();
    await client?.close();
  }
  const ms = performance.now() - start;
  const base = { test, ms, messages, errors, trace };
  if (timedOut)
    return {
      ...base,
      status: "timeout",
      reason: `still running after ${opts.timeoutMs} ms: killed`,
    };
  if (openFailed !== undefined) return { ...base, status: "crash", reason: openFailed.message };
  if (outcome?.kind === "killed") return { ...base, status: "crash", reason: outcome.reason };
  if (ret?.kind === "value") return { ...base, status: "pass" };
  const assertion = parseAssertion(errors);
  if (ret?.kind === "failure")
    return {
      ...base,
      status: "fail",
      ...(assertion === undefined ? { reason: "the test failed" } : { assertion }),
    };
  return {
    ...base,
    status: "crash",
    reason:
      ret?.kind === "faulty"
        ? `its CMDOUT is faulty: ${ret.why}`
        : `it exited (exit data ${outcome?.kind === "exit" ? outcome.exitData : "?"}) without returning`,
  };
}

/** A test home's name: `ncwtest_<pid in base 36>_<random>` (the template), `…_<n>` (a test's). */
const TEST_HOME = /^ncwtest_([0-9a-z]+)_[0-9a-f]{6}(_\d+)?$/;

/**
 * Deletes the test homes an interrupted `ncw test` left (killed, Ctrl-C): those of a process that no
 * longer runs. A live process with the same PID keeps them (they go once it is gone).
 */
async function dropStale(fs: RemoteFs): Promise<void> {
  for (const e of await fs.readdir("/home")) {
    const m = TEST_HOME.exec(e.name);
    if (m === null || e.kind !== "dir") continue;
    const pid = Number.parseInt(m[1] ?? "", 36);
    if (!hostProcessAlive(pid)) await fs.deleteSubvolume(`/home/${e.name}`).catch(() => {});
  }
}

/** Runs `tests` of the test program `program` (absolute path) on `home`'s kernel. */
export async function runTests(
  home: HomeLayout,
  program: string,
  tests: readonly TestCase[],
  opts: RunOptions,
): Promise<{ results: TestResult[]; snapshots: SnapshotTimes }> {
  const main = await connectKernel(home, { start: true });
  if (main === undefined) throw new Error("unreachable: connectKernel with start");
  const fs = new RemoteFs(main);
  const runId = `${process.pid.toString(36)}_${randomBytes(3).toString("hex")}`;
  const template = `/home/ncwtest_${runId}`;
  const snapshots: SnapshotTimes = { requests: [], waits: [] };
  const results: TestResult[] = [];
  const conns: KernelConnection[] = [];
  const jobs = Math.max(1, Math.min(opts.jobs, tests.length));
  const userOf = (i: number) => `ncwtest_${runId}_${i}`;
  let homes: TestHomes | undefined;
  try {
    await fs.mkdir("/home", { recursive: true });
    await dropStale(fs);
    try {
      await fs.createSubvolume(template);
    } catch (e) {
      if ((e as { code?: string }).code === "FS_NOT_BTRFS")
        throw new NcwError(
          "config",
          "`ncw test` isolates each test in a Btrfs snapshot, and this home's tree is a host folder",
          {
            code: "TEST_NOT_BTRFS",
            hint: "use a home with the Btrfs tree (the default): --home <new folder>",
          },
        );
      throw e;
    }
    homes = new TestHomes(fs, template, (i) => `/home/${userOf(i)}`, tests.length, jobs, snapshots);
    if (opts.prepared !== undefined && existsSync(opts.prepared))
      await fs.request({
        op: "putHost",
        hostPath: opts.prepared,
        path: template,
        recursive: true,
        compression: "none",
      });
    let next = 0;
    let stop = false;
    const slot = async () => {
      const conn = await connectKernel(home, { start: true });
      if (conn === undefined) throw new Error("unreachable: connectKernel with start");
      conns.push(conn);
      for (;;) {
        if (stop) return;
        const i = next++;
        const test = tests[i];
        if (test === undefined) return;
        await homes?.ready(i);
        let r: TestResult;
        try {
          r = await runOne(conn, program, test, userOf(i), opts);
        } finally {
          homes?.release(i);
        }
        results[i] = r;
        opts.onResult?.(r);
        if (opts.bail && r.status !== "pass") stop = true;
      }
    };
    await Promise.all(Array.from({ length: jobs }, slot));
  } finally {
    for (const c of conns) c.close();
    if (homes !== undefined) await homes.close();
    else await fs.deleteSubvolume(template).catch(() => {});
    main.close();
  }
  // Those not run after --bail stopped the run.
  return {
    results: tests.map(
      (test, i) =>
        results[i] ?? { test, status: "skipped", ms: 0, messages: "", errors: "", trace: [] },
    ),
    snapshots,
  };
}
