// The hello example's program, in AssemblyScript with NCW's SDK (docs/sdk.md): it greets the person its
// one optional argument names (`ncw run dist/examples/hello.nap Ada` prints "Hello, Ada!") on CMDMSG,
// then returns `void` on CMDOUT, as its manifest's `hello` command says. Its logic is in src/greet.ts,
// tested by tests/greet.test.ts (`ncw test examples/hello`).
// The build (scripts/build-examples.mjs) compiles it with asc into main.npp and packs the folder into
// dist/examples/hello.nap.
import { arg, argCount, print, println, returnVoid, Style } from "../.ncw/sdk/as/command";
import { greeted } from "./greet";

// The argument is optional: absent, the command line gives `void` (or no argument at all).
const who = greeted(argCount() > 0 && !arg(0).isVoid() ? arg(0).asString() : null);
print("Hello, ");
print(who, Style.color(0x4fa3ff).bold());
println("!");
returnVoid();
