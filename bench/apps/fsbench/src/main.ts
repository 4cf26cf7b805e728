// The sys::fs benchmark's app (bench/sysfs-run.ts): each command is one workload through sys::fs and
// the SDK (sdk/as/fs.ts), timed from outside by the bench as a fresh `ncw run`; `nop` is the baseline
// (start-up, connection, ENUM_FS). A failed call fails the command with its errcode.
import { arg, commandName, fatal, returnInt } from "../.ncw/sdk/as/command";
import {
  closeFile,
  createDirectory,
  createFile,
  fsError,
  fsFsid,
  itemMetadata,
  openFile,
  readDirectory,
  readFile,
  writeFile,
} from "../.ncw/sdk/as/fs";

const AREA = "/home/user/appdata/ncwbench.fsbench";
const MIB: i32 = 1 << 20;

function must(ok: bool, what: string): void {
  if (!ok) fatal(`fsbench: ${what} failed (sys::fs errcode 0x${fsError().toString(16)})`);
}

const command = commandName();
must(fsFsid(), "ENUM_FS");
if (command === "nop") {
  returnInt(0);
} else if (command === "create") {
  const dir = arg(0).asString();
  const n = <i32>arg(1).asInt();
  must(createDirectory(AREA, dir), `CREATE_DIRECTORY ${dir}`);
  const folder = `${AREA}/${dir}`;
  const data = new Uint8Array(100).fill(0x61);
  for (let i = 0; i < n; i++) {
    const f = createFile(folder, `f${i}`, false, true);
    must(f !== 0, `OPEN_FILE f${i}`);
    must(writeFile(f, 0, data, true), `WRITE_FILE f${i}`);
    must(closeFile(f), `CLOSE_FILE f${i}`);
  }
  returnInt(n);
} else if (command === "list") {
  const folder = `${AREA}/${arg(0).asString()}`;
  const repeat = <i32>arg(2).asInt();
  let sum: i64 = 0;
  for (let r = 0; r < repeat; r++) {
    const items = readDirectory(folder);
    must(items !== null, "READ_DIRECTORY");
    sum += items!.length;
    if (arg(1).asBool())
      for (let i = 0; i < items!.length; i++) {
        const m = itemMetadata(`${folder}/${items![i].name}`);
        must(m !== null, `ITEM_METADATA ${items![i].name}`);
        sum += <i64>m!.size;
      }
  }
  returnInt(sum);
} else if (command === "bigwrite") {
  const name = arg(0).asString();
  const mib = <i32>arg(1).asInt();
  const chunk = new Uint8Array(MIB);
  for (let i = 0; i < MIB; i++) chunk[i] = <u8>(i * 7);
  const f = createFile(AREA, name, false, true);
  must(f !== 0, `OPEN_FILE ${name}`);
  for (let i = 0; i < mib; i++)
    must(writeFile(f, <u64>i * <u64>MIB, chunk, i === 0), `WRITE_FILE ${name} at ${i} MiB`);
  must(closeFile(f), "CLOSE_FILE");
  returnInt(mib);
} else {
  const name = arg(0).asString();
  const path = `${AREA}/${name}`;
  const m = itemMetadata(path);
  must(m !== null, `ITEM_METADATA ${name}`);
  const f = openFile(path, true, false);
  must(f !== 0, `OPEN_FILE ${name}`);
  const chunk = new Uint8Array(MIB);
  let sum: i64 = 0;
  for (let off: u64 = 0; off < m!.size; off += <u64>MIB) {
    must(readFile(f, off, chunk), `READ_FILE ${name} at ${off}`);
    sum += <i64>chunk[7];
  }
  must(closeFile(f), "CLOSE_FILE");
  returnInt(sum);
}
