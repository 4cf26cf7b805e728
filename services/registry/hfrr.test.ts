import { describe, expect, it } from "vitest";
import { formatStruct, HfrrError, parseHfrr } from "./hfrr.js";
import { parseLeaf, parseType, type StructValue, type Value } from "./types.js";

const T = "\t";

/** A registry root of the containers the spec's default content does not use, with their models. */
function root(): StructValue {
  const node = (typeText: string, value: Value, purpose = "") => ({
    purpose,
    typeText,
    type: parseType(typeText),
    value,
  });
  const model = (): StructValue =>
    new Map([
      ["enabled", node("bool", false)],
      ["limit", node("smax(KB,1MB)", parseLeaf(parseType("size(KB)"), "64KB"))],
    ]);
  return new Map([
    ["names", node("list[3]:asciistr", { list: [] }, "Some names")],
    ["nested", node("list:(list:uint{1})", { list: [] })],
    [
      "apps",
      node("structmap:(asciistr)", { map: [{ key: "default", value: { struct: model() } }] }),
    ],
    ["rules", node("structlist", { list: [{ value: { struct: model() } }] })],
    [
      "flags",
      node("mapc:(bool):(float{8})", {
        map: [
          { key: false, value: 0 },
          { key: true, value: 1 },
        ],
      }),
    ],
    ["modes", node("map:(enum:(Low, High)):(string)", { map: [] })],
  ]);
}

const TEXT = `# Some names
names(list[3]:asciistr):
${T}- r"alice" # the first
${T}- r"bob"

nested(list:(list:uint{1})):
${T}-
${T}${T}- 1
${T}${T}- 2
${T}- []

apps(structmap:(asciistr)):
${T}r"default":
${T}${T}enabled(bool): false
${T}${T}limit(smax(KB,1MB)): 64KB
${T}r"notes":
${T}${T}enabled(bool): true
${T}${T}limit(smax(KB,1MB)): 1MB

rules(structlist):
${T}-
${T}${T}enabled(bool): false
${T}${T}limit(smax(KB,1MB)): 64KB
${T}-
${T}${T}enabled(bool): true
${T}${T}limit(smax(KB,1MB)): 512KB

flags(mapc:(bool):(float{8})):
${T}false: -0.5
${T}true: 2.0

modes(map:(enum:(Low, High)):(string)):
${T}High: "fast \\"and\\" loud"
${T}Low: "quiet"
`;

describe("HFRR containers", () => {
  it("round-trips lists, nested lists, struct maps, struct lists and complete maps", () => {
    const r = parseHfrr(TEXT, root());
    // Map keys come back in their type's order (the enum's: Low before High).
    const expected = TEXT.replace(
      `${T}High: "fast \\"and\\" loud"\n${T}Low: "quiet"\n`,
      `${T}Low: "quiet"\n${T}High: "fast \\"and\\" loud"\n`,
    );
    expect(`${formatStruct(r).join("\n")}\n`).toBe(expected);
  });

  it("a new struct map entry takes the model's nodes it leaves out", () => {
    const r = parseHfrr(
      `apps(structmap:(asciistr)):\n${T}r"default":\n${T}r"x":\n${T}${T}enabled(bool): true\n`,
      root(),
    );
    expect(formatStruct(r).join("\n")).toContain(
      `${T}r"x":\n${T}${T}enabled(bool): true\n${T}${T}limit(smax(KB,1MB)): 64KB`,
    );
  });

  const refuses = (text: string, where: [number, number], why: RegExp) => {
    let err: unknown;
    try {
      parseHfrr(text, root());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HfrrError);
    const e = err as HfrrError;
    expect([e.line, e.column]).toEqual(where);
    expect(e.why).toMatch(why);
  };

  it("refuses what the containers' rules forbid, at the right place", () => {
    refuses(
      `names(list[3]:asciistr):\n${T}- r"a"\n${T}- r"b"\n${T}- r"c"\n${T}- r"d"\n`,
      [1, 1],
      /at most 3 entries/,
    );
    refuses(`names(list[3]:asciistr):\n${T}r"a"\n`, [2, 2], /starts with "- "/);
    refuses(
      `apps(structmap:(asciistr)):\n${T}r"x":\n`,
      [1, 1],
      /first entry r"default" \(the model\) cannot be removed/,
    );
    refuses(`rules(structlist): []\n`, [1, 1], /model\) cannot be removed/);
    refuses(`flags(mapc:(bool):(float{8})):\n${T}true: 1.0\n`, [1, 1], /every key; missing: false/);
    refuses(`flags(mapc:(bool):(float{8})):\n${T}false: 1,5\n`, [2, 9], /"\." decimal separator/);
    refuses(
      `apps(structmap:(asciistr)):\n${T}r"default":\n${T}${T}limit(smax(KB,1MB)): 2MB\n`,
      [3, 24],
      /more than the maximum 1MB/,
    );
    refuses(`names(list[3]:asciistr): {}\n`, [1, 26], /or \[\] when empty/);
    refuses(`names(list[3]:asciistr): [] # none\n`, [1, 29], /purpose\) goes on the line above/);
    refuses(`modes(map:(enum:(Low, High)):(string)):\n${T}Low "quiet"\n`, [2, 2], /"key: value"/);
  });
});
