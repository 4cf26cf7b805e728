// Black-box tests of Hydre's streams beyond `|` (docs/hydre.md "Files", "Pipes") through `ncw hydre
// -c`, with installed WAT apps: `< file` gives a command a file of the NightOS tree as its CMDIN — its
// bytes, in bounded pieces, for a `stream` input (the CLI's memory stays small for hundreds of MB),
// its text for a typed one.

import {
  closeSync,
  mkdtempSync,
  openSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CAT_APP, COUNT_CMDIN_APP, HEAD_APP, producerApp } from "./command-helpers.js";
import { hydreIn, hydreWatched, installCommandApp } from "./hydre-helpers.js";
import { TestHome } from "./kernel-helpers.js";

const home = new TestHome({ NCW_KERNEL_IDLE_MS: "60000" });
const host = mkdtempSync(path.join(tmpdir(), "ncw-streams-"));
afterAll(() => {
  home.cleanup();
  rmSync(host, { recursive: true, force: true });
});

const install = (slug: string, wat: string, commands: string) =>
  installCommandApp(home, slug, wat, commands);

beforeAll(() => {
  install(
    "rawer",
    producerApp("cmdraw", false),
    `[commands.raw]\nhelp = "n bytes of a on CMDRAW"\n[commands.raw.args.n]\nsyntax = "pos"\ntype = "int"\nhelp = "How many bytes"\n`,
  );
  install(
    "counter",
    COUNT_CMDIN_APP,
    `[commands.scount]\nhelp = "Count a stream"\ncmdin = "stream"\nreturn = "int"\n` +
      `[commands.tcount]\nhelp = "Count a typed input's bytes"\ncmdin = "string"\nreturn = "int"\n` +
      `[commands.icount]\nhelp = "Count an int's bytes"\ncmdin = "int"\nreturn = "int"\n`,
  );
  install("catter", CAT_APP, `[commands.scat]\nhelp = "CMDIN to CMDRAW"\ncmdin = "stream"\n`);
  install(
    "header",
    HEAD_APP,
    `[commands.head]\nhelp = "What came first"\ncmdin = "stream"\nreturn = "int"\n`,
  );
}, 300_000);

/** `ncw hydre -c script` (`extra`: more environment). */
const hydre = (script: string, timeout = 120_000, extra: Record<string, string> = {}) =>
  hydreIn(home, script, timeout, extra);

const watched = (script: string) => hydreWatched(home, script);

/** A host file of `size` bytes put into the NightOS tree at `to` (`ncw fs put`). */
function putFile(to: string, size: number): void {
  const from = path.join(host, "file.bin");
  writeFileSync(from, Buffer.alloc(size, 0x61));
  const r = home.ncw(["fs", "put", from, to]);
  expect(r.code, r.stderr).toBe(0);
  rmSync(from);
}

describe('`< file`: a file of the NightOS tree as a command\'s CMDIN (docs/hydre.md "Files")', () => {
  it("into a stream input: the file's bytes, every one", () => {
    // "héllo" and wt's line break: 7 bytes.
    const r = hydre('wt ./f.txt "h\u00e9llo"\nscount < ./f.txt\nlet p = "f.txt"\nscount < $p');
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("7\n7\n");
    expect(r.code).toBe(0);
  });

  it("an empty file: CMDIN closes at once, empty", () => {
    const r = hydre('wt ./empty.txt "" -n\nscount < ./empty.txt');
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("0\n");
    expect(r.code).toBe(0);
  });

  it("into a typed `string` input: the file's text, one value (its encoding is 17 bytes more)", () => {
    const r = hydre('wt ./t.txt "h\u00e9llo"\ntcount < ./t.txt');
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("24\n");
    expect(r.code).toBe(0);
  });

  it("into a native command: its text (`pass` returns it), and on through `|`", () => {
    const r = hydre('wt ./n.txt "abc" -n\npass < ./n.txt\npass < ./n.txt | scount');
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("abc\n3\n");
    expect(r.code).toBe(0);
  });

  it("the first command of a pipeline: `a < f | b`", () => {
    const r = hydre('wt ./c.txt "0123456789"\nscat < ./c.txt | scount');
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("11\n");
    expect(r.code).toBe(0);
  });

  it("300 MB into a stream input with the CLI's memory bounded: read in pieces, never whole", async () => {
    const bytes = 300_000_000;
    putFile("/home/user/big.bin", bytes);
    const r = await watched("scount < ~/big.bin");
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(`${bytes}\n`);
    expect(r.code).toBe(0);
    // Node and the CLI's modules take ~60-90 MB; the file whole would be 300 MB more.
    expect(r.peakKiB).toBeGreaterThan(0);
    expect(r.peakKiB).toBeLessThan(160 * 1024);
    // A reader that stops after its first bytes: the rest of the file is never read.
    const head = hydre("head < ~/big.bin", 60_000);
    expect(head.stderr).toBe("");
    expect(head.code).toBe(0);
    const n = Number(head.stdout.trim());
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThanOrEqual(65536);
  }, 240_000);

  it("a read that fails after the first piece kills the reader (no cut stream taken for whole) and is reported", () => {
    putFile("/home/user/three.bin", 3_000_000);
    const r = hydre("scount < ~/three.bin", 60_000, { NCW_TEST_FAULT_AT: "hydre-input-piece" });
    expect(r.signal).toBeNull();
    // scount never answers a count of the first piece: it was killed before CMDIN closed.
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(
      "internal error: a fault injected at hydre-input-piece (NCW_TEST_FAULT_AT)",
    );
    expect(r.code).toBe(70);
  });

  it("a missing file or a folder: the line fails with the file's error, the command never runs", () => {
    const r = hydre("scount < ./nope.txt\necho after");
    expect(r.stdout).toBe("after\n");
    expect(r.stderr).toMatch(/^< \.\/nope\.txt: .+\n$/);
    expect(r.code).toBe(0);
    const last = hydre("mkdir ./d\ntcount < ./d");
    expect(last.stdout).toBe("");
    expect(last.stderr).toMatch(/^< \.\/d: .+\n$/);
    expect(last.code).toBe(1);
    const caught = hydre(
      'catch $(scount < ./nope.txt)\n  ok n => echo "never: $n"\n  err e => echo "caught: $e"\nend',
    );
    expect(caught.stderr).toBe("");
    expect(caught.stdout).toMatch(/^caught: .*< \.\/nope\.txt: .+\n$/);
    expect(caught.code).toBe(0);
  });

  it("checked before anything runs: a typed input other than a string, no input, `<` after a `|`", () => {
    const typed = hydre('echo "never"\nicount < ./f.txt');
    expect(typed.code).toBe(65);
    expect(typed.stdout).toBe("");
    expect(typed.stderr).toContain("reads an int from CMDIN, `<` gives it a file's text");
    const none = hydre("raw 1 < ./f.txt");
    expect(none.code).toBe(65);
    expect(none.stderr).toContain("HYDRE_NO_CMDIN");
    const later = hydre("raw 1 | scount < ./f.txt");
    expect(later.code).toBe(65);
    expect(later.stderr).toContain("HYDRE_REDIRECT");
    const twice = hydre("scount < ./f.txt < ./g.txt");
    expect(twice.code).toBe(65);
    expect(twice.stderr).toContain("one `<` only");
  });
});

describe('`@> file`: a command\'s CMDRAW to a file of the NightOS tree (docs/hydre.md "Files")', () => {
  it("the bytes as they are, replacing the file; the command's value is still its own", () => {
    const r = hydre(
      'wt ./o.txt "a longer text than five bytes"\nraw 5 @> ./o.txt\nrd ./o.txt\n' +
        'wt ./f7.txt "h\u00e9llo"\nlet n = $(scount < ./f7.txt @> ./empty.bin)\necho "n=$n"\nscount < ./empty.bin',
    );
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("aaaaa\nn=7\n0\n");
    expect(r.code).toBe(0);
  });

  it("the pipeline's last command's CMDRAW: `a | b @> f`", () => {
    const r = hydre("raw 3000000 | scat @> ./p.bin\nscount < ./p.bin");
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("3000000\n");
    expect(r.code).toBe(0);
  });

  it("300 MB of CMDRAW to a file with the CLI's memory bounded: written in pieces, never whole", async () => {
    const bytes = 300_000_000;
    const r = await watched(`raw ${bytes} @> ~/out.bin`);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("");
    expect(r.code).toBe(0);
    expect(r.peakKiB).toBeGreaterThan(0);
    expect(r.peakKiB).toBeLessThan(160 * 1024);
    const back = hydre("scount < ~/out.bin");
    expect(back.stderr).toBe("");
    expect(back.stdout).toBe(`${bytes}\n`);
  }, 300_000);

  it("a write that fails closes CMDRAW (the app's writes fail, it ends) and is reported", () => {
    const r = hydre("raw 30000000 @> ./w.bin", 60_000, { NCW_TEST_FAULT_AT: "hydre-output-piece" });
    expect(r.signal).toBeNull();
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(
      "internal error: a fault injected at hydre-output-piece (NCW_TEST_FAULT_AT)",
    );
    expect(r.code).toBe(70);
  });

  it("a file that cannot be made fails the line before anything runs", () => {
    const r = hydre("raw 1 @> ./nodir/x.bin");
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^@> \.\/nodir\/x\.bin: .+\n$/);
    expect(r.code).toBe(1);
  });

  it("checked before anything runs: `@>` before a `|`, twice, after a native command", () => {
    const before = hydre("raw 1 @> ./a.bin | scount");
    expect(before.code).toBe(65);
    expect(before.stderr).toContain("HYDRE_REDIRECT");
    const twice = hydre("raw 1 @> ./a.bin @> ./b.bin");
    expect(twice.code).toBe(65);
    expect(twice.stderr).toContain("one `@>` only");
    const native = hydre('echo "a" @> ./a.bin');
    expect(native.code).toBe(65);
    expect(native.stderr).toContain("it writes no CMDRAW");
  });
});

describe('`>>` and `wt -a`: appended to the file\'s end, never rewritten (docs/hydre.md "Files")', () => {
  it("a 300 MB file appended to keeps its bytes, and the CLI's memory does not take the file", async () => {
    const bytes = 300_000_000;
    putFile("/home/user/grow.bin", bytes);
    const r = await watched('echo "xyz" >> ~/grow.bin\nwt ~/grow.bin "end" -a -n');
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("");
    expect(r.code).toBe(0);
    // Node and the CLI's modules take ~60-90 MB; the file read whole (and rewritten) is 300 MB more.
    expect(r.peakKiB).toBeGreaterThan(0);
    expect(r.peakKiB).toBeLessThan(160 * 1024);
    const out = path.join(host, "grow.bin");
    const got = home.ncw(["fs", "get", "/home/user/grow.bin", out]);
    expect(got.code, got.stderr).toBe(0);
    expect(statSync(out).size).toBe(bytes + 6);
    const fd = openSync(out, "r");
    const head = Buffer.alloc(16);
    const tail = Buffer.alloc(16);
    readSync(fd, head, 0, 16, 0);
    readSync(fd, tail, 0, 16, bytes + 6 - 16);
    closeSync(fd);
    rmSync(out);
    expect(head.toString()).toBe("a".repeat(16));
    expect(tail.toString()).toBe(`${"a".repeat(10)}xyzend`);
  }, 300_000);
});

describe('`rd -s`: a stream the script holds (docs/hydre.md "Streams held by the script")', () => {
  it("into a stream input: the file's bytes in pieces, a held one too; a typed input refuses it", () => {
    const r = hydre(
      'wt ./s.txt "h\u00e9llo"\nrd ./s.txt -s | scount\nlet s = $(rd ./s.txt -s)\npass $s | scount\n' +
        `echo \${s.pending()}\npass $s | scount`,
    );
    expect(r.stderr).toBe("");
    // The second read of the held stream finds it read to its end already.
    expect(r.stdout).toBe("7\n7\nfalse\n0\n");
    expect(r.code).toBe(0);
    const typed = hydre("rd ./s.txt -s | tcount");
    expect(typed.code).toBe(65);
    expect(typed.stderr).toContain("HYDRE_TYPE_MISMATCH");
  });

  it("`cmdraw`: a held stream to the script's CMDRAW, ncw's stdout, every byte", () => {
    // (Under spawnSync's 1 MiB of output.)
    putFile("/home/user/raw3.bin", 900_000);
    const r = hydre('cmd\n  help "x"\nend\nfn main()\n  cmdraw $(rd ~/raw3.bin -s)\nend');
    expect(r.stderr).toBe("");
    expect(r.stdout.length).toBe(900_000);
    expect(/^a+$/.test(r.stdout)).toBe(true);
    expect(r.code).toBe(0);
  });

  it("300 MB held as a stream and piped into a command with the CLI's memory bounded", async () => {
    const bytes = 300_000_000;
    putFile("/home/user/held.bin", bytes);
    const r = await watched(
      `let s = $(rd ~/held.bin -s)\necho "\${s.size_hint()} \${s.pending()}"\npass $s | scount`,
    );
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(`${bytes} true\n${bytes}\n`);
    expect(r.code).toBe(0);
    expect(r.peakKiB).toBeGreaterThan(0);
    expect(r.peakKiB).toBeLessThan(160 * 1024);
  }, 240_000);
});
