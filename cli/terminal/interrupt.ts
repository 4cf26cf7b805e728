// Ctrl-C on a running command (specs/shell.md "User inputs"): the first asks it to terminate, a second
// forces it, a third kills it — the same for `ncw run`/`ncw exec` and for a command run by Hydre
// (`ncw hydre`, `ncw shell`).

import { Sig } from "../../commonassembly/abi/numbers.js";
import type { ReservedKey } from "./keys.js";

/** What an interrupt acts on: the run's process (kernel-compat/client.ts RunHandle). */
export interface Interruptible {
  pid(): number | undefined;
  /** Several processes (a Hydre pipeline): the PIDs the interrupt acts on, all named on stderr. */
  pids?(): readonly number[];
  signal(signal: number): void;
  kill(): void;
}

/** `process 12`, `processes 12 and 13`, `processes 12, 13 and 14`; and the pronoun for them. */
function named(pids: readonly (number | undefined)[]): { who: string; them: string } {
  if (pids.length <= 1) return { who: `process ${pids[0]}`, them: "it" };
  const all = pids.map(String);
  return {
    who: `processes ${all.slice(0, -1).join(", ")} and ${all.at(-1)}`,
    them: "them",
  };
}

/**
 * A SIGINT handler escalating TERMINATE → WILL_TERMINATE → kill, saying each step on stderr with
 * every PID it acts on; its `count` is how many interrupts it took.
 */
export function escalatingInterrupt(run: Interruptible): (() => void) & { readonly count: number } {
  let interrupts = 0;
  const onInt = () => {
    interrupts++;
    const { who, them } = named(run.pids?.() ?? [run.pid()]);
    if (interrupts === 1) {
      run.signal(Sig.TERMINATE);
      process.stderr.write(`\nncw: sent TERMINATE to ${who} (Ctrl-C again to force ${them})\n`);
    } else if (interrupts === 2) {
      run.signal(Sig.WILL_TERMINATE);
      process.stderr.write(
        `\nncw: sent WILL_TERMINATE to ${who} (Ctrl-C again to kill ${them} now)\n`,
      );
    } else {
      run.kill();
      process.stderr.write(`\nncw: killing ${who}\n`);
    }
  };
  return Object.defineProperty(onInt, "count", { get: () => interrupts }) as (() => void) & {
    readonly count: number;
  };
}

/**
 * What a reserved key does to the running command (specs/shell.md "User inputs"): Ctrl-C is the first
 * step of `onInt` (the SIGINT path), the others send their signal.
 */
export function reservedKeyHandler(
  run: Interruptible,
  onInt: () => void,
): (key: ReservedKey) => void {
  return (key) => {
    if (key === "terminate") onInt();
    else
      run.signal(
        key === "will-terminate"
          ? Sig.WILL_TERMINATE
          : key === "suspend"
            ? Sig.SUSPEND
            : Sig.WILL_SUSPEND,
      );
  };
}
