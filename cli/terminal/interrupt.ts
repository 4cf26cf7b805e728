// Ctrl-C on a running command (specs/shell.md "User inputs"): the first asks it to terminate, a second
// forces it, a third kills it — the same for `ncw run`/`ncw exec` and for a command run by Hydre
// (`ncw hydre`, `ncw shell`).

import { Sig } from "../../commonassembly/abi/numbers.js";

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
