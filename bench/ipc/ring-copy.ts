// The ring's copy into an app's memory (bench/README.md "Commands"): CPU time of streaming N bytes
// through a host-segment ring into a shared WebAssembly memory, 64 KiB reads as PIPE_READ makes them,
// with the host's native copy (RingMemory.copy) and with Uint8Array.set, interleaved, medians. The
// producer publishes with `fill` without touching the bytes (as the CLI's CMDIN pump, which read(2)s
// straight into the ring), so only the consumer's copy is timed. Run: node dist/bench/ipc/ring-copy.js
// [MiB] [read size]

import {
  hostRingMemory,
  initRing,
  RingReader,
  RingWriter,
  ringSegmentSize,
} from "../../kernel-compat/ipc/ring.js";
import { hostNative } from "../../native/index.js";
import { median } from "../common.js";

const MIB = Number(process.argv[2] ?? 1024);
const READ = Number(process.argv[3] ?? 64 * 1024);
const RUNS = 5;
const CAPACITY = 1024 * 1024;

const host = hostNative();
const seg = host.createSegment(ringSegmentSize(CAPACITY), "bench-ring-copy");
const withNative = hostRingMemory(seg, host);
const withSet = { ...withNative, copy: undefined };
initRing(withNative, CAPACITY);
const wasm = new WebAssembly.Memory({ initial: 80, maximum: 128, shared: true });
const dst = new Uint8Array(wasm.buffer, 0, READ);

/** CPU ms (user + system) for MIB MiB through the ring, read READ bytes at a time. */
function run(memory: typeof withNative): number {
  const w = new RingWriter(memory);
  const r = new RingReader(memory);
  let left = MIB * 1024 * 1024;
  const t = process.cpuUsage();
  while (left > 0) {
    while (w.free() > 0) w.fill((span) => span.length, {});
    while (r.used() >= READ && left > 0) {
      r.readExact(dst, false);
      left -= READ;
    }
  }
  const u = process.cpuUsage(t);
  r.readSome(new Uint8Array(CAPACITY), false);
  return (u.user + u.system) / 1000;
}

const a: number[] = [];
const b: number[] = [];
run(withNative);
run(withSet);
for (let i = 0; i < RUNS; i++) {
  a.push(run(withNative));
  b.push(run(withSet));
}
const perGiB = (ms: number) => (ms * 1024) / MIB;
console.log(
  `ring → wasm memory, ${MIB} MiB in ${READ}-byte reads, CPU ms per GiB (median of ${RUNS}): ` +
    `native ${perGiB(median(a)).toFixed(0)}, Uint8Array.set ${perGiB(median(b)).toFixed(0)}`,
);
seg.close();
