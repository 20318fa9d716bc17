// The machine and the software versions a run measured.

import { readFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";

import { programOutput } from "./processes";

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  os: string;
  /** 1-, 5- and 15-minute load averages when the run started and ended: other work on the machine shows here. */
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
    try {
      return (require(`${name}/package.json`) as { version: string }).version;
    } catch {
      return "unknown";
    }
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
