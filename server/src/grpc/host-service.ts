import { HostServiceImplementation } from "@netagent/proto";

import type { HostProbe } from "../host/facts";
import { describeHost } from "../host/describe";
import type { LibvirtSession } from "../libvirt/session";
import type { SubnetPool } from "../networks/subnet-pool";
import { kindToProto } from "./convert";

/** Implements netagent.v1.HostService. */
export function hostService(options: { session: LibvirtSession; hostProbe: HostProbe; subnetPool: SubnetPool }): HostServiceImplementation {
  return {
    async getHost() {
      const host = await describeHost(options.session, options.hostProbe, options.subnetPool);
      return {
        host: {
          ...host,
          networkTypes: host.networkTypes.map((support) => ({ ...support, type: kindToProto(support.type) })),
        },
      };
    },
  };
}
