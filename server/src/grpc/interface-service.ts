import { InterfaceServiceImplementation, LinkState } from "@netagent/proto";

import { InvalidArgumentError } from "../errors";
import type { InterfaceManager } from "../interfaces/manager";
import { connectivityToProto, detachStateToProto, interfaceToProto, linkStateFromProto } from "./interface-convert";

/** Implements netagent.v1.InterfaceService on top of the interface manager. */
export function interfaceService(manager: InterfaceManager): InterfaceServiceImplementation {
  return {
    async attachInterface(request) {
      const result = await manager.attach({
        domain: request.domain,
        network: request.network,
        macAddress: request.macAddress,
        model: request.model,
        live: request.live,
        persistent: request.persistent,
        linkState: request.linkState === LinkState.LINK_STATE_UNSPECIFIED ? undefined : knownLinkState(request.linkState),
      });
      return {
        interface: interfaceToProto(result.interface),
        connectivity: connectivityToProto(result.connectivity),
        warnings: result.warnings,
      };
    },

    async detachInterface(request, context) {
      const result = await manager.detach(
        {
          domain: request.domain,
          macAddress: request.macAddress,
          alias: request.alias,
          live: request.live,
          persistent: request.persistent,
          timeoutSeconds: request.timeoutSeconds,
        },
        { signal: context.signal },
      );
      return {
        state: detachStateToProto(result.state),
        interface: result.interface && interfaceToProto(result.interface),
      };
    },

    async listInterfaces(request) {
      const interfaces = await manager.list({ domain: request.domain, network: request.network });
      return { interfaces: interfaces.map(interfaceToProto) };
    },

    async updateInterface(request) {
      const guestInterface = await manager.update({
        domain: request.domain,
        macAddress: request.macAddress,
        alias: request.alias,
        live: request.live,
        persistent: request.persistent,
        linkState: request.linkState === LinkState.LINK_STATE_UNSPECIFIED ? undefined : knownLinkState(request.linkState),
      });
      return { interface: interfaceToProto(guestInterface) };
    },
  };
}

/** @throws InvalidArgumentError for values this agent's contract does not define. */
function knownLinkState(state: LinkState): "up" | "down" {
  const known = linkStateFromProto(state);
  if (known === undefined) {
    throw new InvalidArgumentError([{ field: "link_state", description: `invalid value ${state}: use LINK_STATE_UP or LINK_STATE_DOWN` }]);
  }
  return known;
}
