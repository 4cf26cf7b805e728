// Hydre's conformance suite (specs/shell-scripting.md, specs/shell.md "Pre-evaluation checking"): every
// `cases/<section>/<name>.hys` is checked and run in-process, and compared with the files beside it:
//   <name>.out    the exact output (CMDOUT values and messages) of a run to its end
//   <name>.check  the exact diagnostics (as `ncw hydre` prints them, without colours): nothing runs
//                 (an empty one: the script checks clean, and is not run — it runs app commands)
//   <name>.fail   the end of a run that failed or panicked: `failed: <message>` or `panic: <message>`
//   <name>.in     the user's input (prompt, prompt_int, confirm, …), one answer a line
// A first line `# seed: N` seeds the random functions; `# args: …` gives the script its arguments (words
// split at spaces outside brackets and quotes), read against its command description; `# cmdin: …` is
// the script's CMDIN (the text, typed as its description's `cmdin`, as `ncw exec` types stdin). File commands work on a NightOS tree in memory,
// the script's folder /home/user, empty at the start of each case. App commands are checked against the fixture
// catalog (commands.ts); the cases that run real apps are in test/hydre-cli.test.ts.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { seededRandom } from "../../cli/hydre-host.js";
import { MemoryFs } from "../../services/fs/memory.js";
import type { HydreHost } from "../../services/hydre/evaluator.js";
import { checkSource, runChecked, scriptArguments } from "../../services/hydre/script.js";
import { renderDiagnostic } from "../../services/hydre/source.js";
import { typedInput } from "../../services/shell/input.js";
import { FIXTURE_COMMANDS } from "./commands.js";

const CASES = path.join(path.dirname(fileURLToPath(import.meta.url)), "cases");

interface CaseResult {
  check?: string;
  out: string;
  end?: string;
}

async function runCase(
  file: string,
  text: string,
  input: string[],
  checkOnly: boolean,
): Promise<CaseResult> {
  const checked = await checkSource(file, text, async () => FIXTURE_COMMANDS);
  if (checked.diagnostics.length > 0 || checkOnly)
    return {
      check:
        checked.diagnostics.length === 0
          ? ""
          : `${checked.diagnostics.map((d) => renderDiagnostic(checked.source, d)).join("\n\n")}\n`,
      out: "",
    };
  let out = "";
  const tree = new MemoryFs();
  await tree.mkdir("/home/user", { recursive: true });
  const seed = /^# seed: ([0-9]+)/.exec(text)?.[1];
  const host: HydreHost = {
    write: (t) => {
      out += t;
    },
    writeErr: (t) => {
      out += t;
    },
    writeRaw: async (bytes) => {
      out += new TextDecoder().decode(bytes);
    },
    readLine: async (prompt) => {
      out += prompt;
      const line = input.shift();
      if (line !== undefined) out += `${line}\n`;
      return line;
    },
    env: (name) => (name === "MESSAGE" ? "Hello world!" : undefined),
    random: seededRandom(Number(seed ?? 1)),
    runApps: () => {
      throw new Error("app commands run in test/hydre-cli.test.ts");
    },
    files: { tree: async () => tree, cwd: "/home/user", home: "/home/user" },
    scriptInput: async (cmdin) => {
      const given = /^# cmdin: (.*)$/m.exec(text)?.[1];
      return given === undefined ? undefined : typedInput(file, cmdin, Buffer.from(given));
    },
  };
  const argLine = /^# args: (.*)$/m.exec(text)?.[1];
  const words = argLine === undefined ? [] : (argLine.match(/(?:"[^"]*"|\[[^\]]*\]|\S)+/g) ?? []);
  const args = scriptArguments(checked, file, words);
  if (args.kind === "help") return { out: `${args.text}\n` };
  const end = await runChecked(checked, host, args.values);
  return {
    out,
    ...(end.kind === "failed" ? { end: `failed: ${end.message}` } : {}),
    ...(end.kind === "panic" ? { end: `panic: ${end.message}` } : {}),
  };
}

const sections = readdirSync(CASES).sort();

describe("Hydre conformance", () => {
  for (const section of sections) {
    describe(section, () => {
      const dir = path.join(CASES, section);
      for (const f of readdirSync(dir)
        .filter((x) => x.endsWith(".hys"))
        .sort()) {
        const base = path.join(dir, f.slice(0, -4));
        const read = (ext: string) =>
          existsSync(base + ext) ? readFileSync(base + ext, "utf8") : undefined;
        it(f, async () => {
          const text = readFileSync(`${base}.hys`, "utf8");
          const want = { check: read(".check"), out: read(".out"), fail: read(".fail") };
          if (want.check === undefined && want.out === undefined && want.fail === undefined)
            throw new Error(`${f} has no .out, .check or .fail beside it`);
          const input = (read(".in") ?? "").split("\n");
          if (input.at(-1) === "") input.pop();
          const r = await runCase(`${section}/${f}`, text, input, want.check !== undefined);
          expect(r.check ?? "").toBe(want.check ?? "");
          if (want.check !== undefined) return;
          expect(r.out).toBe(want.out ?? "");
          expect(r.end ?? "").toBe((want.fail ?? "").trimEnd());
        });
      }
    });
  }
});
