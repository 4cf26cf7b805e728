// Paths as sys::fs reads them (docs/sysfs.md "Paths"): split paths normalized by the rules of
// filesystem-interfaces.md "Split paths", the 65,534-character limit of filesystem.md "Paths' size
// limit", and resolution through symbolic links with the cycle rules of filesystem.md "Cyclic symlinks".

import {
  type FsLayer,
  MAX_SYMLINK_HOPS,
  type NodeStat,
  type PartsResolution,
  resolveLinkTarget,
} from "../layer.js";

/**
 * A layer that resolves a whole path in one operation (BtrfsLayer); undefined where it cannot (a
 * MountView for a path that meets a host mount): the walk below does it.
 */
interface OneStepResolver {
  resolveParts(parts: readonly string[], followLast: boolean): Promise<PartsResolution | undefined>;
}

/** Longest path, in characters (filesystem.md: 2 bytes of length, 65,534 characters plus NUL). */
export const MAX_PATH_CHARS = 65534;

/** A split path's components by the page's rules: "" and "." ignored, ".." drops the one before. */
export function normalizeSplit(components: readonly string[]): string[] {
  const out: string[] = [];
  for (const c of components) {
    if (c === "" || c === ".") continue;
    if (c === "..") out.pop();
    else out.push(c);
  }
  return out;
}

/** The NightOS path of split components ("/" for none). */
export function pathOf(parts: readonly string[]): string {
  return `/${parts.join("/")}`;
}

/** Whether a path of these components is longer than the limit (counted in code points). */
export function tooLong(parts: readonly string[]): boolean {
  let n = 0;
  for (const p of parts) {
    n += 1;
    for (const _ of p) if (++n > MAX_PATH_CHARS) return true;
  }
  return false;
}

/** Why a path could not be resolved. */
export class ResolveError extends Error {
  constructor(
    readonly why: "not-found" | "cyclic",
    readonly path: string,
    /**
     * How far resolution reached: the components resolved (no symlink in them) then the ones left.
     * The path the item would have, where sys::fs checks the caller's rights before saying "not
     * found" (docs/sysfs.md "Paths": no probing where an app has no permission).
     */
    readonly reached: readonly string[],
  ) {
    super(`${why}: ${path}`);
  }
}

/** A resolved path: its components without any symlink (but the last one when not followed). */
export interface Resolved {
  parts: string[];
  path: string;
  /** The item (lstat); null when the last component is missing but its folder exists. */
  stat: NodeStat | null;
}

/**
 * Resolve `parts` from the root, following the symlinks met on the way (and the last one with
 * `followLast`), at most MAX_SYMLINK_HOPS of them ("cyclic" beyond). A missing or non-folder
 * component before the last is "not-found".
 */
export async function resolve(
  layer: FsLayer,
  parts: readonly string[],
  followLast: boolean,
): Promise<Resolved> {
  // The Btrfs layer walks the whole path in one operation, with the same rules (resolveParts).
  const oneStep = (layer as Partial<OneStepResolver>).resolveParts;
  if (oneStep !== undefined) {
    const r = await oneStep.call(layer, parts, followLast);
    if (r?.ok === true) return { parts: r.parts, path: pathOf(r.parts), stat: r.stat };
    if (r !== undefined) throw new ResolveError(r.why, pathOf(r.pending), r.reached);
  }
  let pending = [...parts];
  let at = 0;
  let done: string[] = [];
  let hops = 0;
  if (pending.length === 0) return { parts: [], path: "/", stat: await layer.stat("/") };
  for (;;) {
    const name = pending[at]!;
    const here = [...done, name];
    const path = pathOf(here);
    const st = await layer.stat(path);
    const last = at === pending.length - 1;
    if (st === null) {
      if (last) return { parts: here, path, stat: null };
      throw new ResolveError("not-found", pathOf(pending), [...here, ...pending.slice(at + 1)]);
    }
    if (st.kind === "symlink" && (!last || followLast)) {
      if (++hops > MAX_SYMLINK_HOPS)
        throw new ResolveError("cyclic", pathOf(pending), [...done, ...pending.slice(at)]);
      const target = resolveLinkTarget(done, await layer.readlink(path));
      pending = [...target, ...pending.slice(at + 1)];
      at = 0;
      done = [];
      if (pending.length === 0) return { parts: [], path: "/", stat: await layer.stat("/") };
      continue;
    }
    if (last) return { parts: here, path, stat: st };
    if (st.kind !== "dir")
      throw new ResolveError("not-found", pathOf(pending), [...here, ...pending.slice(at + 1)]);
    done = here;
    at++;
  }
}

/**
 * The chain of symlinks starting at the link `start` (resolved components, not followed): the links
 * in the order they are met, and the cycle when the chain loops, reduced to its minimum (filesystem.md
 * "Cyclic symlinks": C → A → B → A is the cycle A, B). `end` is where a chain without a cycle ends
 * (its final target, which may be missing).
 */
export async function symlinkChain(
  layer: FsLayer,
  start: readonly string[],
): Promise<{ links: string[]; cycle: string[] | null; end: Resolved | null }> {
  const links: string[] = [];
  let at = [...start];
  for (;;) {
    const path = pathOf(at);
    const seen = links.indexOf(path);
    if (seen >= 0) return { links, cycle: links.slice(seen), end: null };
    links.push(path);
    const target = resolveLinkTarget(at.slice(0, -1), await layer.readlink(path));
    let next: Resolved;
    try {
      next = await resolve(layer, target, false);
    } catch (e) {
      if (e instanceof ResolveError && e.why === "cyclic") {
        // A loop through the folders of the path: the chain from here on never ends.
        return { links, cycle: links.slice(-1), end: null };
      }
      throw e;
    }
    if (next.stat?.kind !== "symlink") return { links, cycle: null, end: next };
    at = next.parts;
  }
}
