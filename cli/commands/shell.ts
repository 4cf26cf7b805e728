// `ncw shell`: an interactive Hydre session on the terminal (specs/shell.md "Interactivity", issue 16;
// docs/hydre.md "ncw shell"). Each input is checked, then run, in one persistent top-level scope
// (services/hydre/script.ts ShellSession); an input whose block is not closed continues on the next
// line; errors are shown as `ncw hydre` shows them and the shell goes on. The line editor is Node's
// readline: editing, the history (kept in the user's NightOS home, cli/shell-history.ts), completion
// (cli/shell-complete.ts). Ctrl-C while an app command runs sends it TERMINATE, then WILL_TERMINATE,
// then kills it, as `ncw exec` (shell.md "User inputs"); at the prompt it clears the line; Ctrl-D exits. Without a terminal, stdin's lines are read as a
// session's inputs, without prompts.

import { createInterface, type Interface } from "node:readline";
import type { CommandModule } from "yargs";
import { ExitCode, isNcwError } from "../../ncw/errors.js";
import { colorEnabled, makeStyle, type Style, safeLines } from "../../ncw/output.js";
import { type Checked, ShellSession } from "../../services/hydre/script.js";
import { renderDiagnostic } from "../../services/hydre/source.js";
import type { InstalledCommand } from "../../services/shell/commands.js";
import { kernelCommands } from "../command-target.js";
import { type GlobalArgs, runCommand } from "../context.js";
import { type CliHost, cliHost } from "../hydre-host.js";
import { shellCompleter } from "../shell-complete.js";
import { HISTORY_PATH, ShellHistory } from "../shell-history.js";
import { shellValueText } from "../terminal/hydre-values.js";
import { intArg } from "../usage.js";

interface ShellArgs extends GlobalArgs {
  seed?: string;
}

const PROMPT = "hydre> ";
const CONTINUATION = "  ...> ";
/** The name inputs are shown under in diagnostics. */
const INPUT_NAME = "<shell>";

export const shellCommand: CommandModule<GlobalArgs, ShellArgs> = {
  command: "shell",
  describe: "An interactive Hydre session: each input checked, then run",
  builder: (y) =>
    y
      .option("seed", {
        type: "string",
        describe: "Seed the random functions (rand, rand_int, …) for a repeatable session",
      })
      .epilogue(
        "Each input is checked before it runs, then runs in the session's scope: variables, functions and " +
          "types stay for the next input. An unclosed block continues on the next line. TAB completes " +
          "commands, flags, paths and $variables; the up arrow recalls the history, kept in the NightOS " +
          `tree at ${HISTORY_PATH("<user>")}. Ctrl-C terminates the running command (at the prompt it ` +
          "clears the line); Ctrl-D or `exit` leaves. Without a terminal, stdin's lines are run as the " +
          "session's inputs, without prompts: exit code 0 when every input ran, 1 when one failed or had " +
          'errors. docs/hydre.md "ncw shell".',
      ),
  handler: (argv) =>
    runCommand(argv, async ({ home, out }) => {
      const seed =
        argv.seed === undefined
          ? undefined
          : intArg(argv.seed, "--seed", { min: 0, max: 2 ** 32 - 1 }, "HYDRE_BAD_SEED");
      const interactive = process.stdin.isTTY === true && process.stdout.isTTY === true;
      const style = makeStyle(colorEnabled(process.env, process.stdout.isTTY === true, argv.color));
      const errStyle = makeStyle(
        colorEnabled(process.env, process.stderr.isTTY === true, argv.color),
      );
      // The installed apps' commands, asked of the kernel once, when an input or a completion first
      // needs them (a session of native commands starts no kernel).
      let installed: Promise<readonly InstalledCommand[]> | undefined;
      const commands = (): Promise<readonly InstalledCommand[]> => {
        installed ??= kernelCommands(home()).catch((e) => {
          installed = undefined;
          throw e;
        });
        return installed;
      };
      const session = new ShellSession();
      const repl = new Repl(session, commands, errStyle);
      let readLine: (prompt: string) => Promise<string | undefined>;
      let lines: AsyncIterator<string> | undefined;
      let rl: Interface;
      if (interactive) {
        rl = createInterface({
          input: process.stdin,
          output: process.stdout,
          terminal: true,
          // The history is the session's (whole entries, kept in the tree): readline adds nothing.
          historySize: 0,
          tabSize: 2,
          completer: shellCompleter({
            commands,
            names: () => session.names(),
            host: () => repl.host,
          }),
        });
        readLine = (prompt) => repl.question(prompt);
      } else {
        rl = createInterface({ input: process.stdin, terminal: false });
        lines = rl[Symbol.asyncIterator]();
        const it = lines;
        readLine = async (prompt) => {
          process.stdout.write(prompt);
          const r = await it.next();
          process.stdout.write("\n");
          return r.done === true ? undefined : r.value;
        };
      }
      const host = cliHost({
        home,
        color: out.color,
        readLine: (p) => readLine(p),
        showValue: (v) => shellValueText(v, style),
        ...(seed === undefined ? {} : { seed }),
      });
      repl.host = host;
      try {
        if (!interactive) return await repl.script(lines as AsyncIterator<string>);
        const history = await ShellHistory.load(host);
        return await repl.interactive(rl, history);
      } finally {
        rl.close();
        await host.close();
      }
    }),
};

class Repl {
  host!: CliHost;
  private rl: Interface | undefined;
  /** Whether an input is running (Ctrl-C goes to its command, not to the line editor). */
  private running = false;

  constructor(
    private readonly session: ShellSession,
    private readonly commands: () => Promise<readonly InstalledCommand[]>,
    private readonly errStyle: Style,
  ) {}

  /**
   * One complete input: checked, then run. Returns "more" when the text is not finished (an unclosed
   * block…), "exit" for `exit`, else whether it ran without an error.
   */
  async input(text: string): Promise<"more" | "exit" | boolean> {
    let checked: Checked;
    try {
      checked = await this.session.check(INPUT_NAME, text, this.commands);
    } catch (e) {
      this.hostError(e);
      return false;
    }
    if (checked.incomplete === true) return "more";
    if (checked.diagnostics.length > 0) {
      for (const d of checked.diagnostics)
        process.stderr.write(
          `${safeLines(renderDiagnostic(checked.source, d, this.errStyle))}\n\n`,
        );
      return false;
    }
    this.running = true;
    this.cooked(true);
    try {
      const end = await this.session.run(checked, this.host);
      if (end.kind === "exit") return "exit";
      if (end.kind === "failed") {
        process.stderr.write(`${this.errStyle.red("error:")} ${safeLines(end.message)}\n`);
        return false;
      }
      if (end.kind === "panic") {
        if (end.span !== undefined)
          process.stderr.write(
            `${safeLines(renderDiagnostic(checked.source, { kind: "type", code: "HYDRE_PANIC", message: end.message, span: end.span }, this.errStyle, "panic"))}\n`,
          );
        else process.stderr.write(`${this.errStyle.red("panic:")} ${safeLines(end.message)}\n`);
        return false;
      }
      // Its last command line failed: reported there; the input counts as failed (exit code 1).
      return !end.lastFailed;
    } catch (e) {
      this.hostError(e);
      return false;
    } finally {
      this.running = false;
      this.cooked(false);
      try {
        await this.host.release();
      } catch (e) {
        this.hostError(e);
      }
    }
  }

  /** An error of NCW itself (no kernel, the tree…): shown, and the shell goes on. */
  private hostError(e: unknown): void {
    if (!isNcwError(e) && !(e instanceof Error)) throw e;
    const hint = isNcwError(e) && e.hint !== undefined ? `\n  hint: ${e.hint}` : "";
    process.stderr.write(
      `${this.errStyle.red("error:")} ${safeLines(e.message)}${safeLines(hint)}\n`,
    );
  }

  /** Without a terminal: stdin's lines are the inputs (a block spans its lines), no prompts. */
  async script(lines: AsyncIterator<string>): Promise<number> {
    let ok = true;
    let buffer: string[] = [];
    for (;;) {
      const r = await lines.next();
      if (r.done === true) break;
      buffer.push(r.value);
      const text = buffer.join("\n");
      if (text.trim() === "") {
        buffer = [];
        continue;
      }
      const res = await this.input(text);
      if (res === "more") continue;
      buffer = [];
      if (res === "exit") return ok ? ExitCode.OK : 1;
      if (res === false) ok = false;
    }
    if (buffer.join("\n").trim() !== "") {
      // The input ended inside a block: its error is shown as the check reports it.
      const checked = await this.session.check(INPUT_NAME, buffer.join("\n"), this.commands);
      for (const d of checked.diagnostics)
        process.stderr.write(
          `${safeLines(renderDiagnostic(checked.source, d, this.errStyle))}\n\n`,
        );
      ok = false;
    }
    return ok ? ExitCode.OK : 1;
  }

  /** A prompt of a running script (`prompt`, `confirm`…), read by the line editor. */
  question(prompt: string): Promise<string | undefined> {
    const rl = this.rl;
    if (rl === undefined) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const onClose = () => resolve(undefined);
      rl.once("close", onClose);
      this.editing(true);
      rl.question(prompt, (answer) => {
        rl.off("close", onClose);
        this.editing(false);
        this.cooked(true);
        resolve(answer);
      });
    });
  }

  /** readline's key listeners, taken off stdin while the line editor is not there. */
  private keyListeners: ((...args: unknown[]) => void)[] | undefined;

  /**
   * The line editor reads the keys (at the prompt, and for a running script's prompts) or not. When it
   * does not, its key listeners are off stdin: a running app command reads the keys itself
   * (cli/terminal/command-io.ts: Ctrl-C is its TERMINATE, shell.md "User inputs"), and readline must
   * not also take them (a Ctrl-C would clear a line no one sees, other keys would be typed into it).
   */
  private editing(on: boolean): void {
    if (this.rl === undefined) return;
    if (on) {
      for (const l of this.keyListeners ?? []) process.stdin.on("keypress", l);
      this.keyListeners = undefined;
      this.rl.resume();
      this.cooked(false);
    } else {
      this.rl.pause();
      if (this.keyListeners === undefined) {
        this.keyListeners = process.stdin.listeners("keypress") as ((...args: unknown[]) => void)[];
        process.stdin.removeAllListeners("keypress");
      }
    }
  }

  /**
   * The terminal is in raw mode while the line editor is there (keys are its own: Ctrl-C clears the
   * line), in cooked mode while an input runs: an app command's run then takes the keys in raw mode
   * itself (cli/hydre-host.ts runApps), and a Ctrl-C between runs is a SIGINT the shell ignores. Keys
   * typed ahead while the shell checks an input or writes its history stay for the line editor.
   */
  private cooked(on: boolean): void {
    if (this.rl !== undefined && process.stdin.isTTY === true) process.stdin.setRawMode(!on);
  }

  async interactive(rl: Interface, history: ShellHistory): Promise<number> {
    this.rl = rl;
    // readline's own history list (what the arrows go through), newest first: the session's entries.
    const internal = rl as unknown as { history: string[]; historyIndex: number };
    internal.history = history.recent();
    let done = false;
    // SIGINT outside a command's run (a loop of the script itself) must not end the shell.
    const ignore = () => {};
    process.on("SIGINT", ignore);
    let buffer: string[] = [];
    try {
      return await new Promise<number>((resolve) => {
        const prompt = () => {
          rl.setPrompt(buffer.length === 0 ? PROMPT : CONTINUATION);
          this.editing(true);
          rl.prompt();
        };
        rl.on("SIGINT", () => {
          // At the prompt: the line (and an unfinished block) is dropped.
          process.stdout.write("^C\n");
          buffer = [];
          rl.write(null, { ctrl: true, name: "e" });
          rl.write(null, { ctrl: true, name: "u" });
          prompt();
        });
        rl.on("close", () => {
          if (!this.running && !done) {
            process.stdout.write("\n");
            resolve(ExitCode.OK);
          }
        });
        rl.on("line", (line) => {
          if (this.running) return;
          buffer.push(line);
          const text = buffer.join("\n");
          if (text.trim() === "") {
            buffer = [];
            prompt();
            return;
          }
          this.editing(false);
          void (async () => {
            const res = await this.input(text);
            if (res === "more") {
              prompt();
              return;
            }
            buffer = [];
            // The entry is one item of the history, a block with its lines.
            try {
              await history.add(text, this.host);
            } catch (e) {
              this.hostError(e);
            }
            internal.history = history.recent();
            // readline leaves its place in the list alone when it keeps no history itself: the
            // arrows start again from the newest entry.
            internal.historyIndex = -1;
            if (res === "exit") {
              done = true;
              resolve(ExitCode.OK);
              return;
            }
            prompt();
          })();
        });
        prompt();
      });
    } finally {
      process.off("SIGINT", ignore);
    }
  }
}
