// The notes example's program, in AssemblyScript with NCW's SDK (docs/sdk.md): it keeps each note as a
// file of the folder `notes` in its data area, /home/<user>/appdata/ncwdemo.notes (docs/sysfs.md
// "Permissions": an app holds every item permission there), through sys::fs (sdk/as/fs.ts).
//   add <name> <text>  → writes the note (OPEN_FILE creating it, WRITE_FILE truncating, CLOSE_FILE),
//                        returns its size in bytes
//   list               → prints "<name> (<size> bytes)" per note (READ_DIRECTORY)
//   show <name>        → the note (ITEM_METADATA, OPEN_FILE, READ_FILE): returns its text
//   rm <name>          → removes the note (DELETE_ITEM, permanently)
//   watch <count>      → WATCH_ITEM of the folder, prints "watching", then each ITEM_CHANGED as it comes
//                        ("notes changed", "a note was opened"…), returns after <count> of them
// The spec gives an app no way to learn its NightOS user: `--user` names it (default "user", the host
// user's NightOS name, docs/sysfs.md "Users"). A failed sys::fs call fails the command with its errcode.
import {
  arg,
  commandName,
  fatal,
  println,
  returnInt,
  returnString,
  returnVoid,
} from "../.ncw/sdk/as/command";
import {
  createDirectory,
  deleteItem,
  fsError,
  itemExists,
  itemMetadata,
  nextChange,
  readDirectory,
  readWholeFile,
  watchItem,
  writeWholeFile,
} from "../.ncw/sdk/as/fs";
import { FS_TYPE_DIRECTORY } from "../.ncw/sdk/as/nightos";

function failed(what: string): void {
  fatal(`notes: ${what} failed (sys::fs errcode 0x${fsError().toString(16)})`);
}

const command = commandName();
const user = arg(
  command === "list" ? 0 : command === "show" || command === "watch" || command === "rm" ? 1 : 2,
).asString();
const area = `/home/${user}/appdata/ncwdemo.notes`;
const folder = `${area}/notes`;

if (itemExists(folder, FS_TYPE_DIRECTORY) !== FS_TYPE_DIRECTORY) {
  if (fsError() !== 0) failed(`ITEM_EXISTS of ${folder}`);
  if (!createDirectory(area, "notes")) failed(`CREATE_DIRECTORY of ${folder}`);
}

if (command === "add") {
  const name = arg(0).asString();
  const text = String.UTF8.encode(arg(1).asString());
  if (!writeWholeFile(folder, name, Uint8Array.wrap(text))) failed(`writing ${folder}/${name}`);
  returnInt(text.byteLength);
} else if (command === "list") {
  const items = readDirectory(folder);
  if (items === null) failed(`READ_DIRECTORY of ${folder}`);
  else {
    for (let i = 0; i < items.length; i++)
      println(`${items[i].name} (${items[i].size.toString()} bytes)`);
    returnVoid();
  }
} else if (command === "rm") {
  const name = arg(0).asString();
  if (!deleteItem(`${folder}/${name}`, true)) failed(`DELETE_ITEM of ${folder}/${name}`);
  returnVoid();
} else if (command === "watch") {
  const count = <i32>arg(0).asInt();
  const me = itemMetadata(folder);
  if (me === null || !watchItem(folder, 1)) failed(`WATCH_ITEM of ${folder}`);
  println("watching");
  // ITEM_CHANGED's events (fs.md; docs/sysfs.md "Watches").
  const EVENTS = [
    "",
    "notes changed",
    "moved",
    "deleted",
    "a note was opened",
    "a note was closed",
  ];
  for (let i = 0; i < count; i++) {
    const c = nextChange();
    if (c === null) failed("waiting for a change");
    else if (!c.filesystem && c.feid === me!.feid && c.event < <u8>EVENTS.length)
      println(EVENTS[c.event]);
    else println(`change 0x${c.event.toString(16)} of FEID ${c.feid.toString()}`);
  }
  returnInt(count);
} else {
  const name = arg(0).asString();
  const data = readWholeFile(`${folder}/${name}`);
  if (data === null) failed(`reading ${folder}/${name}`);
  else {
    returnString(String.UTF8.decode(data.buffer));
  }
}
