// The typed model of `manifest.toml`: the spec's manifest fields (specs/applications-libraries.md
// "The manifest", specs/applications.md "Application manifest", specs/libraries.md), translated to TOML.
// Field names are the spec's; NCW additions are marked. Documented in docs/packages.md.

/** NCW addition: the top-level `type` key says what the package holds. */
export type PackageType = "application" | "library";

export interface Author {
  name: string;
  email?: string;
  /** NCW addition (optional). */
  url?: string;
}

export interface Infos {
  /** [REQ] Shown when installing. Any UTF-8 string. */
  name: string;
  /** [REQ] Slug rules of specs/applications-libraries.md. */
  slug: string;
  /** [REQ] The developer's identifier (same rules as the slug). AID = `<did>::<slug>`. */
  did: string;
  /** [REQ] */
  description: string;
  /** [REQ] Semantic version. */
  version: string;
  /** [REQ] At least one. */
  authors: Author[];
  /** [REQ] Icon path pattern in the archive; "%{}" stands for 16, 32, 64, 128 or 256. */
  icon: string;
  /** [REQ] SPDX identifier. */
  license: string;
}

export interface ProgramSource {
  /** [REQ] Build tool. */
  toolchain: string;
  /** [REQ] Required build-tool options (may be empty). */
  build: Record<string, unknown>;
  /** [OPT] Further build-tool options. */
  options?: Record<string, unknown>;
}

export interface Program {
  /** Source package: at least one of `source` and `precomp` is present. */
  source?: ProgramSource;
  /** Pre-compiled program (.npp) path in the archive. */
  precomp?: string;
}

export interface Content {
  program: Program;
  /** [OPT] Asset paths (files or folders) in the archive. */
  assets?: string[];
}

export interface Dependencies {
  /** [REQ] Library AID → semver range. */
  libraries: Record<string, string>;
  /** [OPT] Font identifier → `true` (any version) or a semver range. */
  fonts?: Record<string, string | true>;
}

export interface Feature {
  assets?: string[];
  dependencies?: Partial<Dependencies>;
  /** Extension name → true (required by this feature). */
  extensions?: Record<string, boolean>;
  languages?: string[];
}

/**
 * `[features]`: `default` (the default feature set, required when any feature exists) and one
 * table per feature (NCW decision, as Cargo does; a feature cannot be named "default").
 */
export interface Features {
  default: string[];
  list: Record<string, Feature>;
}

export interface Extension {
  name: string;
  description: string;
}

export interface Events {
  postinstall?: boolean;
  preuninstall?: boolean;
  preupdate?: boolean;
  postupdate?: boolean;
}

export type ArgSyntax = "pos" | "dash" | "flag";

export interface CommandConditional {
  /** `present()`, `absent()`, `present(<arg>)`, or a relational test on constant-valued args. */
  cond: string;
  return?: string;
  cmdin?: string;
}

export interface CommandArg {
  /** [REQ] `pos`, `dash` or `flag` (the shell's indicator). */
  syntax: ArgSyntax;
  /** Required for pos/dash, forbidden for flag; never nullable, never void. */
  type?: string;
  help?: string;
  short?: string;
  long?: string;
  /** Must be `true` when present. */
  optional?: true;
  default?: unknown;
  requires?: string[];
  conflicts?: string[];
  /** `$if` in TOML (a quoted key). */
  if?: CommandConditional[];
}

export interface CommandSpec {
  help: string;
  author?: string;
  license?: string;
  /** Return type; `void` (the default) means no value. */
  return: string;
  /** Type read from CMDIN, if any (NCW: the manifest form of the shell's `cmdin`). */
  cmdin?: string;
  /** Arguments in declaration order. */
  args: { name: string; arg: CommandArg }[];
}

export interface Services {
  main: boolean;
  /** Scoped service names (at most 8 bytes: the context header's field). */
  scoped: string[];
  integration: {
    desktop_env?: boolean;
    file_manager?: boolean;
    fs_items_opener?: boolean;
    fs_interface?: boolean;
  };
  driver: { storage?: boolean };
}

export interface SysFeatures {
  crash_saves_support: boolean;
}

export interface Additional {
  languages?: string[];
}

interface ManifestCommon {
  infos: Infos;
  content: Content;
  dependencies: Dependencies;
  features?: Features;
  extensions?: Record<string, Extension>;
}

/**
 * Libraries embedded in an application package (specs/applications.md "Libraries embedding"; NCW's
 * form, docs/packages.md): folders of the package, each holding a library's own manifest.toml.
 */
export interface Embedded {
  libraries: string[];
}

export interface ApplicationManifest extends ManifestCommon {
  type: "application";
  embedded?: Embedded;
  events?: Events;
  commands?: Record<string, CommandSpec>;
  services?: Services;
  sysfeatures: SysFeatures;
  additional?: Additional;
}

/** Libraries carry only the common fields (specs/libraries.md "Manifest"). */
export interface LibraryManifest extends ManifestCommon {
  type: "library";
}

export type Manifest = ApplicationManifest | LibraryManifest;

/** One broken rule: the field's path (TOML dotted), the offending value and the rule. */
export interface ManifestIssue {
  path: string;
  value: unknown;
  rule: string;
}
