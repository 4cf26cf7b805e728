// The keys of the NightOS registry that NCW knows (specs/registry.md "Structure"): one table, each
// key with its HFFR type, default and meaning. Helpers add their keys here.

/** A registry key's declaration. `type` uses the spec's HFFR type notation. */
export interface RegistryKeyDecl {
  readonly type: string;
  readonly default: RegistryValue;
  readonly describe: string;
}

export type RegistryValue = boolean | string | number | bigint;

/** Sideloading modes (concepts/applications.md "Sideloading"). */
export const SIDELOADING_MODES = ["disabled", "store-checking", "unsecure"] as const;
export type SideloadingMode = (typeof SIDELOADING_MODES)[number];

export const REGISTRY_KEYS = {
  "system.applications.sideloading": {
    type: `enum:(${SIDELOADING_MODES.join(",")})`,
    // NCW decision (docs/skyer.md): a developer tool installs the developer's own packages.
    default: "unsecure",
    describe:
      "How Skyer treats packages installed from a file: disabled, store-checking (needs the Store: " +
      "offline, so it behaves as disabled) or unsecure (no check; AID spoofing possible)",
  },
  // The kernel's signal delays (kernel helper; docs/kernel.md "Signals"), read at each process start.
  "system.processes.suspend_delay": {
    type: "time(ms)",
    default: 500,
    describe: "Delay between WILL_SUSPEND and the suspension of a process, in ms (0–65535)",
  },
  "system.processes.terminate_delay": {
    type: "time(ms)",
    default: 2000,
    describe:
      "Delay between WILL_TERMINATE and the kill of a process that has not exited, in ms (0–65535)",
  },
} as const satisfies Record<string, RegistryKeyDecl>;

export type RegistryKey = keyof typeof REGISTRY_KEYS;
