import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";

/** The kernel and initramfs that test guests boot, built by integration/guest/build-image.sh. */
export interface GuestImage {
  kernel: string;
  initrd: string;
  /** For example "6.1.0-57-cloud-amd64". */
  kernelVersion: string;
}

/** The script lives in integration/guest; this file runs from integration/dist/guests. */
const BUILD_SCRIPT = resolve(__dirname, "../../guest/build-image.sh");

/** Bounds a first build, which downloads the kernel package (about 27 MB). A cached image returns at once. */
const BUILD_TIMEOUT_MS = 10 * 60_000;

/**
 * Returns the test guests' image, building it from Debian packages on first
 * use. The image is cached under /var/cache/netagent/guest-image, so later
 * runs download nothing. Requires root and busybox-static.
 * @throws Error with the script's output when the build fails.
 */
export function guestImage(): Promise<GuestImage> {
  return new Promise((resolvePromise, reject) => {
    execFile("bash", [BUILD_SCRIPT], { encoding: "utf8", timeout: BUILD_TIMEOUT_MS }, (error, stdout, stderr) => {
      if (error !== null) {
        reject(new Error(`${BUILD_SCRIPT} failed: ${error.message}\n${stderr}`));
        return;
      }
      const dir = stdout.trim().split("\n").pop() ?? "";
      readFile(join(dir, "kernel-version"), "utf8").then(
        (version) => resolvePromise({ kernel: join(dir, "vmlinuz"), initrd: join(dir, "initrd.img"), kernelVersion: version.trim() }),
        reject,
      );
    });
  });
}
