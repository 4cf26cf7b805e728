// The proxy-guard example's program (docs/kernel.md "Application proxies", docs/sdk.md): one rule per
// way a proxy can act on a call (the manifest lists them). It prints its PID, then a line per rule used.
import { println } from "../.ncw/sdk/as/command";
import { GET_PID_RET_PID, getPid, retU64 } from "../.ncw/sdk/as/nightos";
import { answerError, answerOk, listen, nextCall, pass, passWith } from "../.ncw/sdk/as/proxy";

const GET_PID: u8 = 0x53;
const CONNECT_SERVICE: u8 = 0x2a;
const EXIT: u8 = 0x5f;
const HAND_OVER: u8 = 0x56;
const REJECTED: u8 = 0x41;
// The answers' bytes, static (the SDK's stub runtime never frees the heap).
const VALUE: usize = memory.data(8, 8);

listen();
getPid();
println(`proxy-guard ready: pid ${retU64(GET_PID_RET_PID).toString()}`);
while (true) {
  const c = nextCall();
  if (c === null) {
    println("proxied app ended");
    continue;
  }
  const n = `call ${c.call.toString()} of pid ${c.pid.toString()}`;
  if (c.code === GET_PID) {
    store<u64>(VALUE, 42);
    println(`${n}: GET_PID answered with PID 42`);
    answerOk(c, VALUE, 8);
  } else if (c.code === CONNECT_SERVICE) {
    println(`${n}: CONNECT_SERVICE refused with 0x41`);
    answerError(c, REJECTED);
  } else if (c.code === EXIT) {
    const data = c.argU64(0) + 100;
    store<u64>(VALUE, data);
    println(`${n}: EXIT passed with exit data ${data.toString()}`);
    passWith(c, VALUE, 8);
  } else if (c.code === HAND_OVER) {
    println(`${n}: HAND_OVER held`);
  } else pass(c);
}
