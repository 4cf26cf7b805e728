// `ncw ca`: the CommonAssembly toolchain — assemble, disassemble, validate, inspect and AOT-compile
// NPP programs (DIRECTION.md §1; the format and ABI are in docs/commonassembly.md).

import path from "node:path";
import type { Argv, CommandModule } from "yargs";
import {
  IMPORT_SAFEPOINT,
  IMPORT_SYSCALL,
  IMPORT_SYSCALL_FORK,
} from "../../commonassembly/abi/wasm-names.js";
import { ModuleError } from "../../commonassembly/errors.js";
import {
  assembleProgram,
  describeProgram,
  loadProgram,
  type ProgramInfo,
  writeAtomically,
} from "../../commonassembly/program.js";
import { wasmToWat } from "../../commonassembly/text.js";
import { checkModule, validateNpp } from "../../commonassembly/validate.js";
import { readModule } from "../../commonassembly/wasm/reader.js";
import { ExitCode, isNcwError, NcwError } from "../../ncw/errors.js";
import { type Output, safeLines, safeText } from "../../ncw/output.js";
import { type GlobalArgs, runCommand } from "../context.js";

const INPUT_KINDS = "a .npp file, a WebAssembly binary (.wasm) or WebAssembly text (.wat)";

interface AsmArgs extends GlobalArgs {
  input: string;
  output?: string;
  meta?: string[];
  renameExport?: string[];
  debugNames?: boolean;
}

function parsePairs(option: string, items: string[] | undefined): Map<string, string> {
  const pairs = new Map<string, string>();
  for (const item of items ?? []) {
    const eq = item.indexOf("=");
    if (eq <= 0)
      throw new NcwError("usage", `--${option} expects a=b, got "${item}"`, {
        code: option === "meta" ? "CA_META_SYNTAX" : "CA_RENAME_SYNTAX",
      });
    pairs.set(item.slice(0, eq), item.slice(eq + 1));
  }
  return pairs;
}

const asm: CommandModule<GlobalArgs, AsmArgs> = {
  command: "asm <input>",
  describe: "Assemble a .wat or .wasm module into a validated NPP program",
  builder: (y) =>
    y
      .positional("input", {
        type: "string",
        demandOption: true,
        describe: "The .wat or .wasm file",
      })
      .option("output", {
        alias: "o",
        type: "string",
        describe: "The NPP file to write (default: the input with the .npp extension)",
      })
      .option("meta", {
        type: "string",
        array: true,
        describe: "Add a metadata entry key=value (repeatable; keys: a-z 0-9 _ . -)",
      })
      .option("rename-export", {
        type: "string",
        array: true,
        describe: "Rename an export old=new before validating (repeatable)",
      })
      .option("debug-names", {
        type: "boolean",
        describe: "Keep the text's $names as a name section (text input only)",
      })
      .example("$0 ca asm hello.wat -o hello.npp", "assemble WebAssembly text")
      .example("$0 ca asm prog.wasm --meta version=1.2", "package a module built by clang")
      .example(
        "$0 ca asm as.wasm --rename-export table=__indirect_function_table",
        'package an AssemblyScript module (asc exports its table as "table")',
      )
      .epilogue(
        "The module must pass full WebAssembly validation (core 2.0 + threads) and the NightOS ABI " +
          '(imports only from "nightos", a shared exported memory, _start, __indirect_function_table); ' +
          "nothing is written otherwise. See docs/commonassembly.md.",
      ) as Argv<AsmArgs>,
  handler: (argv) =>
    runCommand(argv, async ({ out }) => {
      const output = argv.output ?? argv.input.replace(/\.(wat|wast|wasm)$/i, "") + ".npp";
      if (path.resolve(output) === path.resolve(argv.input))
        throw new NcwError("usage", "the output would overwrite the input", {
          code: "CA_OUTPUT_IS_INPUT",
          hint: "choose another name with -o",
        });
      const r = await assembleProgram(argv.input, output, {
        metadata: Object.fromEntries(parsePairs("meta", argv.meta)),
        renameExports: parsePairs("rename-export", argv.renameExport),
        debugNames: argv.debugNames === true,
      });
      if (out.json)
        out.data({
          output: r.output,
          size: r.npp.length,
          moduleSize: r.module.info.byteLength,
          metadata: r.metadata,
        });
      else
        out.info(
          `wrote ${r.output}: ${r.npp.length} bytes (module ${r.module.info.byteLength} bytes, ` +
            `${r.module.info.functions.length} functions, imports: ${importList(r.module.imports)})`,
        );
    }),
};

function importList(i: { syscall: boolean; syscallFork: boolean; safepoint: boolean }): string {
  const names = [
    ...(i.syscall ? [IMPORT_SYSCALL] : []),
    ...(i.syscallFork ? [IMPORT_SYSCALL_FORK] : []),
    ...(i.safepoint ? [IMPORT_SAFEPOINT] : []),
  ];
  return names.length ? names.join(", ") : "none";
}

interface DisasmArgs extends GlobalArgs {
  input: string;
  output?: string;
  fold?: boolean;
}

const disasm: CommandModule<GlobalArgs, DisasmArgs> = {
  command: "disasm <input>",
  describe: "Print a program as WebAssembly text",
  builder: (y) =>
    y
      .positional("input", {
        type: "string",
        demandOption: true,
        describe: `The program: ${INPUT_KINDS}`,
      })
      .option("output", {
        alias: "o",
        type: "string",
        describe: "Write the text to this file instead of stdout",
      })
      .option("fold", { type: "boolean", describe: "Fold instructions into nested S-expressions" })
      .epilogue("The text can be assembled back with `ncw ca asm`.") as Argv<DisasmArgs>,
  handler: (argv) =>
    runCommand(argv, async ({ out }) => {
      const p = await loadProgram(argv.input);
      const text = await wasmToWat(p.module, { foldExprs: argv.fold === true });
      if (argv.output !== undefined) {
        await writeAtomically(argv.output, text);
        if (out.json) out.data({ output: argv.output });
      } else if (out.json) out.data({ text });
      else await out.write(text);
    }),
};

interface FileArgs extends GlobalArgs {
  input: string;
}

const validate: CommandModule<GlobalArgs, FileArgs> = {
  command: "validate <input>",
  describe: "Check a program: container, WebAssembly validation and the NightOS ABI",
  builder: (y) =>
    y
      .positional("input", {
        type: "string",
        demandOption: true,
        describe: `The program: ${INPUT_KINDS}`,
      })
      .epilogue(
        "Lists every ABI problem with its rule name (e.g. ABI_MEMORY_NOT_SHARED), the function index and " +
          `byte offset in the module. Exit code 0 when valid, ${ExitCode.DATA} when not. Rules: docs/commonassembly.md.`,
      ) as Argv<FileArgs>,
  handler: (argv) =>
    runCommand(argv, async ({ out }) => {
      const problems: NcwError[] = [];
      try {
        const p = await loadProgram(argv.input);
        if (p.npp !== undefined) {
          try {
            await validateNpp(p.file);
          } catch (e) {
            if (!isNcwError(e)) throw e;
            problems.push(...(await allProblems(p.module, e)));
          }
        } else problems.push(...(await allProblems(p.module)));
      } catch (e) {
        if (!isNcwError(e) || e.kind !== "data") throw e;
        problems.push(e);
      }
      if (out.json) {
        out.data({
          input: argv.input,
          valid: problems.length === 0,
          problems: problems.map((e) => ({
            code: e.code,
            message: e.message,
            ...(e instanceof ModuleError ? { offset: e.offset, funcIndex: e.funcIndex } : {}),
            ...(e.hint ? { hint: e.hint } : {}),
          })),
        });
      } else if (problems.length === 0) {
        out.info(`${argv.input}: valid CommonAssembly program`);
      } else {
        printProblems(out, argv.input, problems);
      }
      return problems.length === 0 ? ExitCode.OK : ExitCode.DATA;
    }),
};

/** Every problem of a module: the WebAssembly error if any, else all ABI problems (plus `extra`). */
async function allProblems(module: Uint8Array, extra?: NcwError): Promise<NcwError[]> {
  try {
    const { problems } = await checkModule(module);
    if (problems.length > 0) return problems;
  } catch (e) {
    if (!isNcwError(e)) throw e;
    return [e];
  }
  return extra ? [extra] : [];
}

function printProblems(out: Output, input: string, problems: NcwError[]): void {
  process.stderr.write(`${input}: ${problems.length} problem(s)\n`);
  // Messages quote the module (export and import names): made safe for the terminal.
  for (const e of problems) {
    process.stderr.write(`${out.style.red("error")} [${e.code}] ${safeLines(e.message)}\n`);
    if (e.hint) process.stderr.write(`  ${out.style.dim("hint:")} ${safeLines(e.hint)}\n`);
  }
}

const info: CommandModule<GlobalArgs, FileArgs> = {
  command: "info <input>",
  describe: "Show a program's header, metadata, imports, exports, memory and sections",
  builder: (y) =>
    y
      .positional("input", {
        type: "string",
        demandOption: true,
        describe: `The program: ${INPUT_KINDS}`,
      })
      .epilogue(
        "With --json, prints the same as one JSON object. Does not validate: see `ncw ca validate`.",
      ) as Argv<FileArgs>,
  handler: (argv) =>
    runCommand(argv, async ({ out }) => {
      const p = await loadProgram(argv.input);
      const d = describeProgram(p, readModule(p.module));
      if (out.json) out.data(d);
      else printInfo(out, d);
    }),
};

function printInfo(out: Output, d: ProgramInfo): void {
  // Names, metadata and signatures come from the program: made safe for the terminal.
  const row = (k: string, v: string) => out.info(`${out.style.bold(k.padEnd(11))} ${safeText(v)}`);
  row("file", `${d.path} (${d.kind}, ${d.fileSize} bytes)`);
  if (d.npp) {
    row("format", `NPP v${d.npp.formatVersion}, NightOS ABI ${d.npp.abiVersion}`);
    row("flags", d.npp.flags.length ? d.npp.flags.join(", ") : "none");
    row("integrity", d.npp.integrity);
    row(
      "module",
      `${d.moduleSize} bytes, ${d.npp.compressedSize} compressed (${Math.round((100 * d.npp.compressedSize) / Math.max(1, d.moduleSize))}%)`,
    );
    for (const [k, v] of Object.entries(d.npp.metadata)) row("metadata", `${k} = ${v}`);
  } else row("module", `${d.moduleSize} bytes`);
  for (const i of d.imports) row("import", `${i.module}.${i.name} ${i.signature ?? i.kind}`);
  for (const e of d.exports)
    row("export", `${e.name} ${e.kind} ${e.index}${e.signature ? ` ${e.signature}` : ""}`);
  for (const m of d.memory)
    row(
      "memory",
      `${m.min}..${m.max ?? "(no max)"} pages${m.shared ? ", shared" : ", NOT shared"}`,
    );
  for (const t of d.tables) row("table", `${t.elemType}, ${t.min}..${t.max ?? "(no max)"} entries`);
  row("functions", `${d.functions.defined} defined, ${d.functions.imported} imported`);
  row("globals", String(d.globals));
  if (d.startSection !== undefined) row("start", `function ${d.startSection} (start section)`);
  row("sections", d.sections.map((s) => `${s.name}(${s.size})`).join(" "));
}

interface AotArgs extends FileArgs {
  force?: boolean;
}

const aot: CommandModule<GlobalArgs, AotArgs> = {
  command: "aot <input>",
  describe: "AOT-compile a program for this machine (validate, instrument, optimize, cache)",
  builder: (y) =>
    y
      .positional("input", {
        type: "string",
        demandOption: true,
        describe: "The .npp program (a .wasm module is accepted too)",
      })
      .option("force", {
        type: "boolean",
        describe: "Rebuild even if a valid cached artifact exists",
      })
      .epilogue(
        "The artifact is cached in the NCW home's cache folder, keyed by NCW version, engine, host CPU and " +
          "the program's hash; a cached artifact is reused, a stale or corrupt one rebuilt (the reason is printed). " +
          "Prints the artifact's path, the instrumentation done and each step's time. See docs/commonassembly-aot.md.",
      ) as Argv<AotArgs>,
  handler: (argv) =>
    runCommand(argv, async ({ out, home }) => {
      const p = await loadProgram(argv.input);
      if (p.kind === "wat")
        throw new NcwError("usage", `${argv.input} is WebAssembly text, not a program`, {
          code: "CA_AOT_NEEDS_NPP",
          hint: `package it first: ncw ca asm ${argv.input} -o prog.npp`,
        });
      // Loaded here, not at start-up: Binaryen alone takes ~0.7 s to load, and no other command needs it.
      const { aotCompile } = await import("../../commonassembly/aot/cache.js");
      const started = performance.now();
      const r = await aotCompile(p.file, {
        cacheDir: home().cache,
        ...(argv.force ? { force: true } : {}),
      });
      const total = performance.now() - started;
      if (out.json) {
        out.data({
          artifact: r.artifactPath,
          cached: r.cached,
          ...(r.rejected ? { rejected: r.rejected } : {}),
          steps: r.steps,
          totalMs: total,
          report: r.report,
        });
        return;
      }
      out.info(`artifact: ${r.artifactPath}${r.cached ? " (cached)" : ""}`);
      if (r.rejected) out.info(`rebuilt:  ${r.rejected}`);
      const rep = r.report;
      out.info(
        `polls:    ${rep.entryPolls} at function entries, ${rep.loopPolls} at loop headers; ` +
          `asyncify: ${rep.asyncify ? "yes (syscall_fork)" : "no"}`,
      );
      for (const s of r.steps) out.info(`  ${s.step.padEnd(22)} ${s.ms.toFixed(1).padStart(9)} ms`);
      out.info(`  ${"total".padEnd(22)} ${total.toFixed(1).padStart(9)} ms`);
    }),
};

export const caCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: "ca <command>",
  describe:
    "CommonAssembly toolchain: assemble, disassemble, validate, inspect and AOT-compile NPP programs",
  builder: (y) =>
    y
      .command(asm)
      .command(disasm)
      .command(validate)
      .command(info)
      .command(aot)
      .demandCommand(1, "Say which ca command to run: see `ncw ca --help`.")
      .epilogue(
        "CommonAssembly is WebAssembly (core 2.0 + threads) with the NightOS ABI; NPP is its container. " +
          "Both are specified in docs/commonassembly.md.",
      ),
  handler: () => {},
};
