// `ncw test [dir|program]`: build a project's test program and run its tests, each in a fresh NightOS
// home (a Btrfs snapshot), in parallel (docs/dev-loop.md "Running tests"). Thin: parse, call
// ncw/project (build) and ncw/testing (run, report), print.

import { existsSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { CommandModule } from "yargs";
import { decodeNppHeader } from "../../commonassembly/npp.js";
import { NcwError } from "../../ncw/errors.js";
import type { HomeLayout } from "../../ncw/home.js";
import type { Output } from "../../ncw/output.js";
import { decodeTestsMetadata, type TestCase } from "../../ncw/project/tests.js";
import type { TestResult } from "../../ncw/testing/runner.js";
import { type GlobalArgs, runCommand } from "../context.js";
import { intArg } from "../usage.js";

interface TestArgs extends GlobalArgs {
  target?: string;
  jobs?: string;
  timeout?: string;
  filter?: string;
  bail?: boolean;
  reporter: string;
  output?: string;
  watch?: boolean;
  release?: boolean;
  "trace-lines"?: string;
}

/** A filter: /regex/ or a substring of the test's id. */
function matcher(filter: string | undefined): (t: TestCase) => boolean {
  if (filter === undefined) return () => true;
  const re = /^\/(.*)\/([a-z]*)$/.exec(filter);
  if (re !== null) {
    let r: RegExp;
    try {
      r = new RegExp(re[1] ?? "", re[2]);
    } catch (e) {
      throw new NcwError("usage", `--filter ${filter}: ${(e as Error).message}`, {
        code: "TEST_BAD_FILTER",
      });
    }
    return (t) => r.test(t.id);
  }
  return (t) => t.id.includes(filter);
}

/** The test program and its tests: built from a project, or an already built test.npp. */
async function prepare(
  target: string,
  release: boolean,
  out: Output,
): Promise<{
  program: string;
  tests: TestCase[];
  suite: string;
  prepared?: string;
  projectDir?: string;
}> {
  if (existsSync(target) && statSync(target).isFile()) {
    const { readFile } = await import("node:fs/promises");
    const npp = decodeNppHeader(new Uint8Array(await readFile(target)));
    const listed = decodeTestsMetadata(npp.metadata);
    if (listed === undefined)
      throw new NcwError("usage", `${target} is not a test program (it lists no tests)`, {
        code: "TEST_NOT_TEST_PROGRAM",
        hint: "give a project folder, or the build/test.npp `ncw build --tests` makes",
      });
    return {
      program: path.resolve(target),
      tests: listed,
      suite: npp.metadata.name ?? path.basename(target),
    };
  }
  const { loadProject } = await import("../../ncw/project/project.js");
  const { buildProject } = await import("../../ncw/project/build.js");
  const p = await loadProject(target);
  const r = await buildProject(p, { debug: !release, tests: true });
  if (r.test?.built === true && !out.json)
    process.stderr.write(`built the tests in ${r.test.ms.toFixed(0)} ms\n`);
  return {
    program: r.test?.path ?? "",
    tests: r.test?.tests ?? [],
    suite: p.manifest.infos.slug,
    prepared: path.join(p.dir, "tests", "home"),
    projectDir: p.dir,
  };
}

async function once(argv: TestArgs, home: HomeLayout, out: Output): Promise<number> {
  const jobs =
    argv.jobs === undefined
      ? os.availableParallelism()
      : intArg(argv.jobs, "--jobs", { min: 1, max: 256 }, "TEST_BAD_JOBS");
  const timeoutMs =
    argv.timeout === undefined
      ? 10_000
      : intArg(argv.timeout, "--timeout", { min: 1, max: 86_400_000 }, "TEST_BAD_TIMEOUT");
  const traceLines =
    argv["trace-lines"] === undefined
      ? 20
      : intArg(argv["trace-lines"], "--trace-lines", { min: 0, max: 10_000 }, "TEST_BAD_TRACE");
  const {
    program,
    tests: all,
    suite,
    prepared,
    projectDir,
  } = await prepare(argv.target ?? ".", argv.release === true, out);
  const tests = all.filter(matcher(argv.filter));
  if (tests.length === 0)
    throw new NcwError(
      "not-found",
      all.length === 0 ? "the project has no tests" : `no test matches --filter ${argv.filter}`,
      {
        code: "TEST_NONE",
        hint:
          all.length === 0
            ? 'add one in tests/ (docs/dev-loop.md "Declaring tests")'
            : `the tests are: ${all.map((t) => t.id).join(", ")}`,
      },
    );
  const { runTests } = await import("../../ncw/testing/runner.js");
  // A project's puppet files (docs/dev-loop.md "Puppet tests"); a built test.npp has none.
  const puppets =
    projectDir === undefined
      ? undefined
      : (await import("../../ncw/testing/puppet.js")).loadPuppets(projectDir, tests);
  const report = await import("../../ncw/testing/report.js");
  const human = argv.reporter === "human" && !out.json;
  const start = performance.now();
  const { results } = await runTests(home, program, tests, {
    jobs,
    timeoutMs,
    bail: argv.bail === true,
    traceLines,
    ...(prepared === undefined ? {} : { prepared }),
    ...(puppets === undefined ? {} : { puppets }),
    onResult: (r: TestResult) => {
      if (human) out.info(report.humanLine(r, out.style));
    },
  });
  const totalMs = performance.now() - start;
  const text =
    argv.reporter === "tap"
      ? report.tapReport(results)
      : argv.reporter === "junit"
        ? report.junitReport(suite, results, totalMs)
        : undefined;
  if (text !== undefined && argv.output !== undefined) writeFileSync(argv.output, text);
  else if (text !== undefined) await out.write(text);
  if (out.json)
    out.data({
      suite,
      ms: totalMs,
      passed: results.filter((r) => r.status === "pass").length,
      failed: results.filter((r) => r.status !== "pass" && r.status !== "skipped").length,
      results: results.map((r) => ({
        id: r.test.id,
        file: r.test.file,
        line: r.test.line,
        status: r.status,
        ms: r.ms,
        ...(r.assertion === undefined ? {} : { assertion: r.assertion }),
        ...(r.reason === undefined ? {} : { reason: r.reason }),
        cmdmsg: r.messages,
        cmderr: r.errors,
        trace: r.trace,
      })),
    });
  else if (human || argv.output !== undefined)
    out.info(report.humanSummary(results, totalMs, out.style));
  return results.every((r) => r.status === "pass") ? 0 : 1;
}

export const testCommand: CommandModule<GlobalArgs, TestArgs> = {
  command: "test [target]",
  describe: "Build and run an app project's tests, each in a fresh NightOS home",
  builder: (y) =>
    y
      .positional("target", {
        type: "string",
        describe: "The project's folder (default: the current one), or a built build/test.npp",
      })
      .option("jobs", {
        alias: "j",
        type: "string",
        describe: "Tests run at once (default: the core count)",
      })
      .option("timeout", {
        type: "string",
        describe: "A test still running after this many ms is killed (default 10000)",
      })
      .option("filter", {
        type: "string",
        describe: "Only the tests whose id holds this text, or matches /regex/",
      })
      .option("bail", { type: "boolean", describe: "Stop at the first test that does not pass" })
      .option("reporter", {
        type: "string",
        choices: ["human", "tap", "junit"],
        default: "human",
        describe: "The report: human, tap (TAP 14) or junit (JUnit XML)",
      })
      .option("output", {
        alias: "o",
        type: "string",
        describe: "Write the TAP or JUnit report to this file",
      })
      .option("watch", {
        type: "boolean",
        describe: "Rebuild and rerun when src/, tests/ or the manifest change",
      })
      .option("release", {
        type: "boolean",
        describe: "Build the tests optimised (default: debug)",
      })
      .option("trace-lines", {
        type: "string",
        describe: "Trace lines kept for a failed test's report (default 20; 0: untraced)",
      })
      .example("$0 test", "build and run the tests of the project here")
      .example(
        "$0 test app/ --filter greet --reporter junit -o junit.xml",
        "some tests, a JUnit report",
      )
      .epilogue(
        "A test is an exported function of tests/*.ts (AssemblyScript) or a void test_<name>(void) of tests/*.c; " +
          "it fails at its first failed assertion (sdk/as/test.ts, sdk/c/nightos_test.h). Each runs as its own " +
          "NightOS user whose home is a snapshot of tests/home/. The exit code is 0 when every test passed, " +
          "1 otherwise. See docs/dev-loop.md.",
      ),
  handler: (argv) =>
    runCommand(argv, async ({ home, out }) => {
      if (argv.watch !== true) return once(argv, home(), out);
      const dir = path.resolve(argv.target ?? ".");
      if (!existsSync(path.join(dir, "manifest.toml")))
        throw new NcwError("usage", "--watch needs a project folder", { code: "TEST_WATCH_DIR" });
      // chokidar (docs/dev-loop.md "Watching"): src/, tests/ and the manifest; not what builds write.
      const { watch } = await import("chokidar");
      let timer: NodeJS.Timeout | undefined;
      let running: Promise<unknown> = Promise.resolve();
      const rerun = () => {
        running = running.then(async () => {
          try {
            await once(argv, home(), out);
          } catch (e) {
            process.stderr.write(`${(e as Error).message}\n`);
          }
          out.info(out.style.dim("watching src/, tests/ and manifest.toml (Ctrl-C to stop)"));
        });
      };
      const watcher = watch(
        ["src", "tests", "manifest.toml"].map((d) => path.join(dir, d)),
        { ignoreInitial: true, ignored: (p) => p.split(path.sep).includes(".ncw") },
      );
      watcher.on("all", () => {
        clearTimeout(timer);
        timer = setTimeout(rerun, 100);
      });
      await new Promise<void>((resolve) => watcher.once("ready", () => resolve()));
      rerun();
      await new Promise<void>((resolve) => {
        process.once("SIGINT", () => resolve());
        process.once("SIGTERM", () => resolve());
      });
      clearTimeout(timer);
      await watcher.close();
      return 0;
    }),
};
