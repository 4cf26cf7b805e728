// Builds examples/hello/main.npp from src/main.wat with NCW's own assembler and NPP writer
// (needs `npm run build` first). `ncw ca` will do the same once its command lands.
import { readFileSync, writeFileSync } from "node:fs";
import { encodeNpp } from "../../dist/commonassembly/npp.js";
import { watToWasm } from "../../dist/commonassembly/text.js";
import { validateNpp } from "../../dist/commonassembly/validate.js";

const here = new URL(".", import.meta.url);
const wasm = await watToWasm(readFileSync(new URL("src/main.wat", here), "utf8"), "main.wat");
const npp = await encodeNpp(wasm, { metadata: { name: "hello" } });
await validateNpp(npp);
writeFileSync(new URL("main.npp", here), npp);
console.log(`main.npp: ${npp.length} bytes`);
