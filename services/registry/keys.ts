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
} as const satisfies Record<string, RegistryKeyDecl>;

export type RegistryKey = keyof typeof REGISTRY_KEYS;
