// The registry's content (specs/registry.md "Structure"): every node NCW installs, one table, each with
// its type in the spec's notation, its default and its purpose (the spec's comment, word for word).
// The dotted key is the node's path of struct keys; the structs' own purposes are in REGISTRY_STRUCTS.
// Declaration order is the structs' order (export writes it). Helpers add their keys here.

/**
 * A value as code passes it to and gets it from the registry (Registry.get / set): booleans, numbers
 * (integers of 8 bytes or more as bigint), strings (enums, identifiers), a duration or size as a number
 * of its type's precision unit (`time(ms)`: milliseconds, `MB`: mebibytes), lists as arrays, maps as
 * arrays of entries.
 */
export type RegistryValue =
  | boolean
  | string
  | number
  | bigint
  | readonly RegistryValue[]
  | readonly RegistryMapEntry[];

export interface RegistryMapEntry {
  readonly key: RegistryValue;
  readonly value: RegistryValue;
  /** The comment HFRR writes after the entry (the spec's `0: Admin # System`). */
  readonly note?: string;
}

/** A registry key's declaration. */
export interface RegistryKeyDecl {
  /** The type in the spec's notation (specs/registry.md "Format"). */
  readonly type: string;
  readonly default: RegistryValue;
  /** The node's purpose (the HFRR comment above it). */
  readonly describe: string;
  /**
   * An NCW bound on top of the type, with the reason (e.g. a delay a 2-byte datafield carries): the
   * value in the type's precision unit may not exceed `max`.
   */
  readonly ncwMax?: { readonly max: number; readonly why: string };
}

/** Sideloading modes (concepts/applications.md "Sideloading"). */
export const SIDELOADING_MODES = ["disabled", "store-checking", "unsecure"] as const;
export type SideloadingMode = (typeof SIDELOADING_MODES)[number];

/** A delay signals.md carries in a 2-byte datafield (milliseconds). */
const DATAFIELD_MS = {
  max: 65535,
  why: "the signal's datafield carries it in 2 bytes (0..65535 ms; signals.md)",
} as const;

/** The purposes of the structs (the spec's comments above `kernel(struct):`, …). */
export const REGISTRY_STRUCTS: Readonly<Record<string, string>> = {
  kernel: "Kernel configuration (only editable in developer mode)",
  "kernel.signals": "Signals configuration",
  system: "System configuration",
  "system.debugging": "Debugging options",
  "system.encryption": "Encryption",
  "system.datetime": "Date and time",
  "system.crash_saves": "Crash saves",
  "system.freeze_prevention": "Freeze-prevention",
  "system.processes": "Processes' lifecycle",
  "system.applications": "Applications (NCW: the spec's default registry has no such struct yet)",
};

export const REGISTRY_KEYS = {
  // NCW reads the system.processes delays (the ones signals.md, syscalls.md and services.md name);
  // these are kept, typed and exported as the spec installs them (docs/registry.md "Keys").
  "kernel.signals.suspend_delay": {
    type: "time(ms)",
    default: 500,
    describe: "Delay before forced suspension after WILL_SUSPEND signal",
  },
  "kernel.signals.terminate_delay": {
    type: "time(ms)",
    default: 500,
    describe: "Delay before forced termination (kill) after WILL_TERMINATE signal",
  },
  "kernel.signals.service_answer_delay": {
    type: "ntime(ms,100ms)",
    default: 500,
    describe: "Delay for a service to answer a connection request",
  },
  "system.debugging.dev_mode": {
    type: "bool",
    default: true,
    describe: "Is development mode enabled?",
  },
  "system.encryption.global_encrypted": {
    type: "bool",
    default: false,
    describe: "Is the global storage encrypted?",
  },
  "system.datetime.internet_based": {
    type: "bool",
    default: true,
    describe: "Is it based on the internet? (if not, it's a custom one)",
  },
  "system.datetime.custom_based_diff": {
    type: "stime(ns)",
    default: 0,
    describe:
      "In the case the date is not internet-based, provide a timestamp which indicates the difference between the computer's\n" +
      " local datetime and the one that should be displayed",
  },
  "system.crash_saves.restore_on_login": {
    type: "bool",
    default: true,
    describe: "Restore crash saves as soon as the user logs in",
  },
  "system.crash_saves.disable_for_guest_user": {
    type: "bool",
    default: true,
    describe: "Do not save crash saves for guest users",
  },
  "system.crash_saves.collect_every": {
    type: "tmin(s,1s)",
    default: 60,
    describe: "Delay between each crash save",
  },
  "system.crash_saves.collect_if_previous_unanswered": {
    type: "bool",
    default: false,
    describe:
      "Ask an application to create a new crash save even if the previous new has not been completed yet",
  },
  "system.freeze_prevention.reserved_memory": {
    type: "MB",
    default: 16,
    describe: "Reserved amount of memory (0 = disabled)",
  },
  "system.freeze_prevention.reserved_cpu_vcore": {
    type: "uint{1}",
    default: 1,
    describe: "Reserved amount of CPU per virtual core (0 = disabled)",
  },
  // The kernel's signal delays (docs/kernel.md "Signals"), re-read by the running kernel on a change.
  "system.processes.suspend_delay": {
    type: "time(ms)",
    default: 500,
    describe: "Delay before suspension",
    ncwMax: DATAFIELD_MS,
  },
  "system.processes.terminate_delay": {
    type: "time(ms)",
    default: 2000,
    describe: "Delay before termination",
    ncwMax: DATAFIELD_MS,
  },
  "system.processes.service_answer_delay": {
    type: "time(ms)",
    default: 2000,
    describe: "Delay for services to answer connections",
    ncwMax: DATAFIELD_MS,
  },
  // NCW-specific (not in the spec's default registry; docs/registry.md, docs/kernel.md "Limits"): the
  // kernel's per-home resource limits. A fork bomb stops at them.
  "system.processes.max_processes": {
    type: "uint{4}",
    default: 32,
    describe:
      "NCW: most NightOS processes running at once in this NCW home (each is a host process of ~40 MB);\n" +
      "CREATE_PROCESS beyond it fails with 0x40 and `ncw run` with RUN_LIMIT_REACHED; 0 = no limit",
  },
  "system.processes.max_memory": {
    type: "MB",
    default: 2048,
    describe:
      "NCW: most NightOS memory (the processes' WebAssembly memories) of this NCW home at once;\n" +
      "CREATE_PROCESS and MEM_ALLOC beyond it fail with 0x40; 0 = no limit",
  },
  "system.processes.max_threads": {
    type: "uint{4}",
    default: 64,
    describe:
      "NCW: most threads one NightOS process may have at once, its main thread included (each is a host\n" +
      "thread with a V8 isolate of its own, ~5 MB); CREATE_THREAD beyond it fails with 0x40; 0 = no limit",
  },
  "system.applications.sideloading": {
    type: `enum:(${SIDELOADING_MODES.join(",")})`,
    // NCW decision (docs/skyer.md): a developer tool installs the developer's own packages.
    default: "unsecure",
    describe:
      "NCW: how Skyer treats packages installed from a file: disabled, store-checking (needs the Store:\n" +
      "offline, so it behaves as disabled) or unsecure (no check; AID spoofing possible)",
  },
  users: {
    type: "map:(uint{4}):(enum:(MainAdmin, Admin, Standard, Guest))",
    default: [
      { key: 0, value: "Admin", note: "System" },
      { key: 1, value: "Admin", note: "Administrator" },
    ],
    describe:
      "Users (keys = user's unique identifier, value = user's type with 0 = main admin., 1 = admin., 2 = standard, 3 = guest)\n" +
      "Detailed informations about each user (nickname, privileges, encryption password, ...) and groups are stored\n" +
      "  in the user profiles file at '/etc/sys/users'",
  },
} as const satisfies Record<string, RegistryKeyDecl>;

export type RegistryKey = keyof typeof REGISTRY_KEYS;
