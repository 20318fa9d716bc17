import { HostServiceImplementation } from "@netagent/proto";

import type { NetworkManager } from "../networks/manager";
import { kindToProto } from "./convert";

/** Implements netagent.v1.HostService. */
export function hostService(manager: NetworkManager): HostServiceImplementation {
  return {
    async getHost() {
      const host = await manager.describeHost();
      return {
        host: {
          ...host,
          networkTypes: host.networkTypes.map((support) => ({ ...support, type: kindToProto(support.type) })),
        },
      };
    },
  };
}
