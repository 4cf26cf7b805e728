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
  "system.processes.service_answer_delay": {
    type: "time(ms)",
    default: 2000,
    describe:
      "How long a service has to answer a connection request (SERVICE_CONN_REQUEST), and a client " +
      "waits for a service to call READY, in ms (0–65535; docs/services.md)",
  },
  // sys::crashsave (docs/crash-saves.md): the spec's type is tmin(s,1s), which the registry cannot store
  // yet; NCW stores whole seconds (0 reads as the spec's 1 s minimum), read at each instance's start.
  "system.crash_saves.collect_every": {
    type: "uint{4}",
    default: 60,
    describe:
      "Delay between two crash-save collections of a running app, in seconds (at least 1; " +
      "docs/crash-saves.md)",
  },
  // NCW-specific (not in the spec's default registry; docs/registry.md, docs/kernel.md "Limits"): the
  // kernel's per-home resource limits, read at each `ncw run`. A fork bomb stops at them.
  "system.processes.max_processes": {
    type: "uint{4}",
    default: 32,
    describe:
      "Most NightOS processes running at once in this NCW home (each is a host process of ~40 MB); " +
      "CREATE_PROCESS beyond it fails with 0x40 and `ncw run` with RUN_LIMIT_REACHED; 0 = no limit",
  },
  "system.processes.max_memory": {
    type: "MB",
    default: 2048,
    describe:
      "Most NightOS memory (the processes' WebAssembly memories, in MiB) of this NCW home at once; " +
      "CREATE_PROCESS and MEM_ALLOC beyond it fail with 0x40; 0 = no limit",
  },
  "system.processes.max_threads": {
    type: "uint{4}",
    default: 64,
    describe:
      "Most threads one NightOS process may have at once, its main thread included (each is a host " +
      "thread with a V8 isolate of its own, ~5 MB); CREATE_THREAD beyond it fails with 0x40; 0 = no limit",
  },
} as const satisfies Record<string, RegistryKeyDecl>;

export type RegistryKey = keyof typeof REGISTRY_KEYS;
