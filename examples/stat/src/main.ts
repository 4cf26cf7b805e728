// The stat example's program, in AssemblyScript with NCW's SDK (docs/sdk.md): its `stat` command takes
// a list[int], an enum["sum" | "product" | "min" | "max"] (default "sum") and a flag, and returns an
// int on CMDOUT. The arguments come in the manifest's order, already checked against its typing.
//   ncw run dist/examples/stat.nap stat 3 1 4 --op max -v    → prints "max(3, 1, 4) = 4", returns 4
// With no integers (`stat [] --op min`), min and max have no answer: the command fails (a message on
// CMDERR, then the failure value on CMDOUT).
import { arg, fail, println, printlnError, returnInt, Style } from "../../../sdk/as/command";

const numbers = arg(0);
const op = arg(1).asString();
const verbose = arg(2).asBool();

const items = numbers.items();
const n = items.length;
if (n === 0 && (op === "min" || op === "max")) {
  printlnError(`stat: ${op} of no integers`);
  fail();
} else {
  let result: i64 = op === "product" ? 1 : op === "sum" ? 0 : items[0].asInt();
  const shown = new Array<string>(0);
  for (let i = 0; i < n; i++) {
    const x = items[i].asInt();
    shown.push(x.toString());
    if (op === "sum") result += x;
    else if (op === "product") result *= x;
    else if (op === "min") result = x < result ? x : result;
    else result = x > result ? x : result;
  }
  if (verbose) println(`${op}(${shown.join(", ")}) = ${result.toString()}`, Style.color(0x8a8a8a));
  returnInt(result);
}
