// The machine and the software versions a run measured.

import { existsSync, readFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";
import { dirname, join } from "node:path";

import { programOutput } from "./processes";

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  os: string;
  /** 1-, 5- and 15-minute load averages when the run started, which show other work on the machine. */
  loadAtStart: number[];
  loadAtEnd?: number[];
}

export function describeMachine(): Machine {
  const osRelease = readFileSync("/etc/os-release", "utf8");
  return {
    cpuModel: cpus()[0]?.model.trim() ?? "unknown",
    cores: cpus().length,
    memoryGiB: totalmem() / 1024 ** 3,
    kernel: release(),
    os: /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(osRelease)?.[1] ?? "unknown",
    loadAtStart: loadavg(),
  };
}

/** Versions by component name; "unknown" where a query failed. */
export async function describeVersions(): Promise<Record<string, string>> {
  const debian = async (name: string) => (await programOutput("dpkg-query", ["-W", "-f=${Version}", name])) ?? "not installed";
  const npm = (name: string) => {
    // Some packages export no ./package.json, so it is found by walking up from their entry point.
    try {
      for (let dir = dirname(require.resolve(name)); dir !== dirname(dir); dir = dirname(dir)) {
        const file = join(dir, "package.json");
        if (existsSync(file)) {
          const manifest = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version: string };
          if (manifest.name === name) {
            return manifest.version;
          }
        }
      }
    } catch {
      // Falls through to "unknown".
    }
    return "unknown";
  };
  const firstLine = (text: string | undefined) => text?.split("\n")[0] ?? "unknown";

  return {
    "Node.js": process.version,
    "libvirt (libvirtd)": firstLine(await programOutput("libvirtd", ["--version"])),
    "libvirt-daemon (Debian)": await debian("libvirt-daemon"),
    QEMU: firstLine(await programOutput("qemu-system-x86_64", ["--version"])),
    "python3-libvirt (Debian)": await debian("python3-libvirt"),
    Python: firstLine(await programOutput("/usr/bin/python3", ["--version"])),
    "@grpc/grpc-js": npm("@grpc/grpc-js"),
    "nice-grpc": npm("nice-grpc"),
    "@bufbuild/protobuf": npm("@bufbuild/protobuf"),
  };
}
