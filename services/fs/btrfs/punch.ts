// The host's punch-hole call (native/ HostNative.punchHole), loaded only by processes that write an
// image: loading the native layer costs every start otherwise (docs/btrfs.md "Giving space back").

type PunchHole = (fd: number, offset: bigint, length: bigint) => void;

let punch: PunchHole | undefined;
let loading: Promise<void> | undefined;

/** Loads the punch-hole call; until it has, image files give no space back (they stay correct). */
export function loadHolePunching(): Promise<void> {
  loading ??= import("../../../native/index.js").then((m) => {
    const host = m.hostNative();
    punch = (fd, offset, length) => host.punchHole(fd, offset, length);
  });
  return loading;
}

/** The punch-hole call, once loadHolePunching has loaded it. */
export function holePuncher(): PunchHole | undefined {
  return punch;
}
