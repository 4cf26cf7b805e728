// One writer per image: a lock file beside the image (`<image>.lock`, created exclusively, holding
// the owner's pid). A lock left by a process that no longer exists is taken over.

import * as fs from "node:fs";
import { hostProcessAlive as alive, isHostError } from "../../../native/errors.js";
import { NcwError } from "../../../ncw/errors.js";

export interface ImageLock {
  readonly path: string;
  release(): void;
}

/** Takes the write lock of `image`, or throws BTRFS_IMAGE_LOCKED (temp-fail) naming the holder. */
export function lockImage(image: string): ImageLock {
  const lockPath = `${image}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(lockPath, "wx");
      fs.writeSync(fd, `${process.pid}\n`);
      fs.closeSync(fd);
      let held = true;
      return {
        path: lockPath,
        release() {
          if (!held) return;
          held = false;
          try {
            if (fs.readFileSync(lockPath, "utf8").trim() === String(process.pid))
              fs.unlinkSync(lockPath);
          } catch {
            // already gone
          }
        },
      };
    } catch (e) {
      if (!isHostError(e, "exists")) {
        throw new NcwError("io", `cannot create the lock ${lockPath}: ${(e as Error).message}`, {
          code: "BTRFS_LOCK_IO",
          cause: e,
        });
      }
      let pid = Number.NaN;
      try {
        pid = Number.parseInt(fs.readFileSync(lockPath, "utf8").trim(), 10);
      } catch {
        continue; // removed meanwhile: try again
      }
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new NcwError("temp-fail", `the image ${image} is being changed by process ${pid}`, {
          code: "BTRFS_IMAGE_LOCKED",
          hint: "Wait for it to finish (or open the image read-only).",
        });
      }
      if (pid === process.pid) {
        throw new NcwError(
          "temp-fail",
          `the image ${image} is already open for writing in this process`,
          {
            code: "BTRFS_IMAGE_LOCKED",
          },
        );
      }
      fs.rmSync(lockPath, { force: true }); // stale: its process is gone
    }
  }
  throw new NcwError("temp-fail", `could not take the lock ${lockPath}`, {
    code: "BTRFS_IMAGE_LOCKED",
  });
}
