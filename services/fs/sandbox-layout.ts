// Where sandboxes live and what they cover (docs/dev-loop.md "Sandboxes"): no Btrfs code, so the CLI
// can check a name without loading it. The view, the diff and applying: sandbox.ts.

/** A sandbox's name: `default.<8 hex>` for a one-off `--sandbox`, else the persistent sandbox's. */
export const SANDBOX_NAME = /^[a-z0-9_][a-z0-9_.-]{0,63}$/;
export const DEFAULT_SANDBOX = "default";

/**
 * A one-off sandbox's name: `default.` and 8 random hex digits, so two runs of one app at once do not
 * share one, and one a killed `ncw` left is never taken for a new run's.
 */
export function oneOffSandboxName(random: () => number = Math.random): string {
  const hex = Array.from({ length: 8 }, () => Math.floor(random() * 16).toString(16)).join("");
  return `${DEFAULT_SANDBOX}.${hex}`;
}

/** Whether `name` is a one-off sandbox's (refused as a persistent sandbox's name). */
export function isOneOffName(name: string): boolean {
  return name === DEFAULT_SANDBOX || name.startsWith(`${DEFAULT_SANDBOX}.`);
}

/** The folder of the app (appdata folder name) `app`'s sandbox `name` for `user`. */
export function sandboxFolder(user: string, app: string, name: string): string {
  return `/home/${user}/appdata/${app}/sandboxes/${name}`;
}

/** A program run from a file has no app folder: its sandboxes are keyed by its program's hash. */
export function volatileAppFolder(hashKey: string): string {
  // volatileKey's "hash:<sha256 hex>" (services/perm/store.ts); a leading dot: no app's `<did>.<slug>`.
  return `.volatile.${hashKey.replace(/^hash:/, "").slice(0, 16)}`;
}

/** The paths a sandbox covers for `user`: everything an app can write (docs/dev-loop.md "Sandboxes"). */
export function coveredPrefixes(user: string): string[] {
  return [`/home/${user}`, `/tmp/${user}`, "/etc/public"];
}

/** Whether split path `parts` is in an app's sandboxes folder (hidden from sandboxed processes). */
export function inSandboxes(parts: readonly string[]): boolean {
  return (
    parts.length >= 5 && parts[0] === "home" && parts[2] === "appdata" && parts[4] === "sandboxes"
  );
}
