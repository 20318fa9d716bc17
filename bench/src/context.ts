import type { NetAgentClient } from "@netagent/client";
import type { RunningAgent } from "@netagent/integration/dist/agent";
import type { Sandbox } from "@netagent/integration/dist/sandbox";
import type { LibvirtClient } from "@netagent/server/dist/libvirt";

import type { LibvirtCallCounter } from "./libvirt-call-counter";
import type { BenchOptions } from "./options";

/** State that every measurement shares: one sandboxed libvirtd and the agents in front of it. */
export interface BenchContext {
  options: BenchOptions;
  sandbox: Sandbox;
  /** URI for python3-libvirt and virsh: the sandbox's libvirtd through its socket. */
  libvirtUri: string;
  libvirtdPid: number;
  /** The benchmark's own libvirt connection, for defining networks and making changes. */
  libvirt: LibvirtClient;
  /** The agent whose calls are timed. */
  agent: RunningAgent;
  /** The agent's log file: one JSON line per call, with its duration. */
  agentLogFile: string;
  /** PID of the agent's node process. */
  agentPid: number;
  agentClient: NetAgentClient;
  /** A second agent that reaches libvirtd through `counter`, used only to count libvirt calls per request. */
  countedClient: NetAgentClient;
  counter: LibvirtCallCounter;
  /** Folder for raw results, logs and profiles. */
  rawDir: string;
  log(message: string): void;
}
