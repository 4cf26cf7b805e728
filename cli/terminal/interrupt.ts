// Ctrl-C on a running command (specs/shell.md "User inputs"): the first asks it to terminate, a second
// forces it, a third kills it — the same for `ncw run`/`ncw exec` and for a command run by Hydre
// (`ncw hydre`, `ncw shell`).

import { Sig } from "../../commonassembly/abi/numbers.js";
import type { ReservedKey } from "./keys.js";

/** What an interrupt acts on: the run's process (kernel-compat/client.ts RunHandle). */
export interface Interruptible {
  pid(): number | undefined;
  signal(signal: number): void;
  kill(): void;
}

/**
 * A SIGINT handler escalating TERMINATE → WILL_TERMINATE → kill, saying each step on stderr; its
 * `count` is how many interrupts it took.
 */
export function escalatingInterrupt(run: Interruptible): (() => void) & { readonly count: number } {
  let interrupts = 0;
  const onInt = () => {
    interrupts++;
    const pid = run.pid();
    if (interrupts === 1) {
      run.signal(Sig.TERMINATE);
      process.stderr.write(`\nncw: sent TERMINATE to process ${pid} (Ctrl-C again to force it)\n`);
    } else if (interrupts === 2) {
      run.signal(Sig.WILL_TERMINATE);
      process.stderr.write(
        `\nncw: sent WILL_TERMINATE to process ${pid} (Ctrl-C again to kill it now)\n`,
      );
    } else {
      run.kill();
      process.stderr.write(`\nncw: killing process ${pid}\n`);
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
