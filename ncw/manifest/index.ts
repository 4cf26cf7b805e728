// The manifest module's public surface: types, parse/validate/serialize, naming rules.
// Spec: specs/applications-libraries.md "The manifest", specs/applications.md, specs/libraries.md.

export * from "./manifest.js";
export * from "./rules.js";
export * from "./spdx.js";
export * from "./types.js";
export { ICON_PLACEHOLDER, ICON_SIZES } from "./validate.js";
