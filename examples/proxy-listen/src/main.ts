// The proxy-listen example's program (docs/kernel.md "Application proxies", docs/sdk.md): a listener.
// It prints its PID, then one line per syscall of the app linked to it, and lets every call pass.
//   call 3 pid 101 thread 1 syscall 0x24 args <4d00000000000000>
//   call 4 pid 101 thread 1 syscall 0x22 args <…> buffer 4 bytes <61626364>   (the bytes a call reads)
import { println } from "../.ncw/sdk/as/command";
import { GET_PID_RET_PID, getPid, retU64 } from "../.ncw/sdk/as/nightos";
import { listen, nextCall, pass } from "../.ncw/sdk/as/proxy";

function hex2(b: u8): string {
  const digits = "0123456789abcdef";
  return digits.charAt(b >> 4) + digits.charAt(b & 15);
}

listen();
getPid();
println(`proxy-listen ready: pid ${retU64(GET_PID_RET_PID).toString()}`);
while (true) {
  const c = nextCall();
  if (c === null) {
    println("proxied app ended");
    continue;
  }
  let line = `call ${c.call.toString()} pid ${c.pid.toString()} thread ${c.thread.toString()} syscall 0x${hex2(c.code)} args <${c.argsHex()}>`;
  // The buffers it reads: their length and first 32 bytes.
  for (let i = 0; i < c.bufferCount; i++) {
    const more = c.bufferShown(i) > 32 ? "…" : "";
    line += ` buffer ${c.bufferLength(i).toString()} bytes <${c.bufferHex(i)}${more}>`;
  }
  println(line);
  pass(c);
}
