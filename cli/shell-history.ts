// `ncw shell`'s history (docs/hydre.md "ncw shell"): kept in the user's NightOS home, where the spec
// puts an app's persistent per-user data (specs/filesystem.md: `/home/<user>/appdata/<app>/data`), at
// /home/<user>/appdata/hydre/data/history. One entry a line as a JSON string (a multi-line block is one
// entry, its line breaks escaped), oldest first, at most MAX entries; an entry equal to the one
// before it is not added again. Read at the start, written after each entry, in the tree, never on
// the host.

import { NcwError } from "../ncw/errors.js";
import { parentPath } from "../services/fs/layer.js";
import type { CliHost } from "./hydre-host.js";

export const HISTORY_PATH = (user: string) => `/home/${user}/appdata/hydre/data/history`;

export class ShellHistory {
  static readonly MAX = 1000;

  private constructor(
    private readonly path: string,
    private entries: string[],
  ) {}

  /** The history of the host's user (empty when there is none yet, or it cannot be read). */
  static async load(host: CliHost): Promise<ShellHistory> {
    const path = HISTORY_PATH(host.files.home.slice("/home/".length));
    const entries: string[] = [];
    try {
      const tree = await host.files.tree();
      if ((await tree.stat(path))?.kind === "file") {
        const text = new TextDecoder().decode(await tree.readFile(path));
        for (const line of text.split("\n")) {
          if (line === "") continue;
          try {
            const e: unknown = JSON.parse(line);
            if (typeof e === "string" && e !== "") entries.push(e);
          } catch {
            // A line NCW did not write: skipped.
          }
        }
      }
    } catch (e) {
      if (!(e instanceof NcwError)) throw e;
    } finally {
      await host.release();
    }
    return new ShellHistory(path, entries.slice(-ShellHistory.MAX));
  }

  /** Newest first, as readline's list goes. */
  recent(): string[] {
    return [...this.entries].reverse();
  }

  /** Adds an entry and writes the history (the tree is released after). */
  async add(entry: string, host: CliHost): Promise<void> {
    if (this.entries.at(-1) === entry) return;
    this.entries.push(entry);
    if (this.entries.length > ShellHistory.MAX)
      this.entries = this.entries.slice(-ShellHistory.MAX);
    try {
      const tree = await host.files.tree();
      await tree.mkdir(parentPath(this.path), { recursive: true });
      const text = this.entries.map((e) => `${JSON.stringify(e)}\n`).join("");
      await tree.writeFile(this.path, new TextEncoder().encode(text));
    } finally {
      await host.release();
    }
  }
}
