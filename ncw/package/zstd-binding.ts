// The zstd binding (@mongodb-js/zstd, a CommonJS module), loaded with require rather than an ESM
// import: on Node 20, two module graphs loaded by concurrent dynamic imports (the kernel preloading its
// program loader while opening the tree for a first request) that both import this CommonJS module can
// see its exports before it ran — `decompress` undefined in one of them. require runs it to its end first.

import { createRequire } from "node:module";

const zstd = createRequire(import.meta.url)(
  "@mongodb-js/zstd",
) as typeof import("@mongodb-js/zstd");

export const compress: typeof zstd.compress = zstd.compress;
export const decompress: typeof zstd.decompress = zstd.decompress;
