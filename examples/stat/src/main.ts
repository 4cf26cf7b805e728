// The stat example's program, in AssemblyScript with NCW's SDK (docs/sdk.md): its `stat` command takes
// a list[int], an enum["sum" | "product" | "min" | "max"] (default "sum") and a flag, and returns an
// int on CMDOUT. The arguments come in the manifest's order, already checked against its typing.
//   ncw run dist/examples/stat.nap stat 3 1 4 --op max -v    → prints "max(3, 1, 4) = 4", returns 4
// With no integers (`stat [] --op min`), min and max have no answer: the command fails (a message on
// CMDERR, then the failure value on CMDOUT). Its logic is in src/stat.ts, tested by tests/stat.test.ts.
import { arg, fail, println, printlnError, returnInt, Style } from "../.ncw/sdk/as/command";
import { combine, hasAnswer } from "./stat";

const numbers = arg(0);
const op = arg(1).asString();
const verbose = arg(2).asBool();

const items = numbers.items();
const xs = new Array<i64>(items.length);
const shown = new Array<string>(items.length);
for (let i = 0; i < items.length; i++) {
  xs[i] = items[i].asInt();
  shown[i] = xs[i].toString();
}
if (!hasAnswer(op, xs.length)) {
  printlnError(`stat: ${op} of no integers`);
  fail();
} else {
  const result = combine(op, xs);
  if (verbose) println(`${op}(${shown.join(", ")}) = ${result.toString()}`, Style.color(0x8a8a8a));
  returnInt(result);
}
