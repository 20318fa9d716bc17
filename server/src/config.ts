import { parseArgs } from "node:util";

import { ListenAddress, parseListenAddress } from "./grpc/listen-address";
import { DEFAULT_SUBNET_POOL, SubnetPool } from "./networks/subnet-pool";

/** The agent's settings, from command-line flags with environment fallbacks. */
export interface AgentConfig {
  listen: ListenAddress;
  libvirtSocket: string;
  libvirtUri: string;
  logLevel: string;
  /** Where NAT and ISOLATED networks without a subnet get their /24 from. */
  subnetPool: SubnetPool;
}

export const USAGE = `Usage: netagent [options]

Serves netagent's gRPC API and manages libvirt networks on this host.

Options:
  --listen ADDRESS        where to serve gRPC: unix:///PATH or a loopback HOST:PORT
                          (env NETAGENT_LISTEN; default unix:///run/netagent/netagent.sock)
  --libvirt-socket PATH   libvirtd's UNIX socket (env NETAGENT_LIBVIRT_SOCKET;
                          default /run/libvirt/libvirt-sock)
  --libvirt-uri URI       libvirt connection URI opened on that socket
                          (env NETAGENT_LIBVIRT_URI; default qemu:///system)
  --log-level LEVEL       trace, debug, info, warn or error (env NETAGENT_LOG_LEVEL; default info)
  --subnet-pool CIDR      IPv4 range that NAT and ISOLATED networks created without a subnet
                          get a free /24 from (env NETAGENT_SUBNET_POOL; default ${DEFAULT_SUBNET_POOL})
  -h, --help              print this help and exit
`;

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error"];

/**
 * Reads the configuration. Flags win over environment variables, which win
 * over defaults.
 * @throws Error naming the invalid option and its accepted values.
 */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): AgentConfig | "help" {
  const { values } = parseArgs({
    args: argv,
    options: {
      listen: { type: "string" },
      "libvirt-socket": { type: "string" },
      "libvirt-uri": { type: "string" },
      "log-level": { type: "string" },
      "subnet-pool": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    return "help";
  }

  const logLevel = values["log-level"] ?? env.NETAGENT_LOG_LEVEL ?? "info";
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new Error(`invalid --log-level ${JSON.stringify(logLevel)}: use one of ${LOG_LEVELS.join(", ")}`);
  }

  return {
    listen: parseListenAddress(values.listen ?? env.NETAGENT_LISTEN ?? "unix:///run/netagent/netagent.sock"),
    libvirtSocket: values["libvirt-socket"] ?? env.NETAGENT_LIBVIRT_SOCKET ?? "/run/libvirt/libvirt-sock",
    libvirtUri: values["libvirt-uri"] ?? env.NETAGENT_LIBVIRT_URI ?? "qemu:///system",
    logLevel,
    subnetPool: subnetPoolOf(values["subnet-pool"] ?? env.NETAGENT_SUBNET_POOL ?? DEFAULT_SUBNET_POOL),
  };
}

function subnetPoolOf(cidr: string): SubnetPool {
  try {
    return new SubnetPool(cidr);
  } catch (error) {
    throw new Error(`invalid --subnet-pool: ${(error as Error).message}`);
  }
}
