import { ListNetworksRequest, NetworkServiceImplementation } from "@netagent/proto";

import { InvalidArgumentError } from "../errors";
import type { NetworkManager } from "../networks/manager";
import { dhcpSourceToProto, kindFromProto, networkToProto, specInputFromProto } from "./convert";

const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;
const PAGE_TOKEN_PREFIX = "after:";

/** Implements netagent.v1.NetworkService on top of the network manager. */
export function networkService(manager: NetworkManager): NetworkServiceImplementation {
  return {
    async createNetwork(request) {
      if (request.network === undefined) {
        throw new InvalidArgumentError([{ field: "network", description: "missing: set the network to create" }]);
      }
      const network = await manager.create(specInputFromProto(request.network), { validateOnly: request.validateOnly });
      return { network: networkToProto(network) };
    },

    async getNetwork(request) {
      return { network: networkToProto(await manager.get(request.name)) };
    },

    async listNetworks(request) {
      const { pageSize, after } = parsePaging(request);
      const networks = await manager.list({ type: kindFromProto(request.type), active: request.active });

      const remaining = after === undefined ? networks : networks.filter((n) => n.name > after);
      const page = remaining.slice(0, pageSize);
      const more = remaining.length > page.length;
      return {
        networks: page.map(networkToProto),
        nextPageToken: more ? encodePageToken(page[page.length - 1].name) : "",
      };
    },

    async updateNetwork(request) {
      if (request.network === undefined) {
        throw new InvalidArgumentError([{ field: "network", description: "missing: set the network's name and the new values of the fields in update_mask" }]);
      }
      const result = await manager.update({
        input: specInputFromProto(request.network),
        paths: request.updateMask ?? [],
        validateOnly: request.validateOnly,
        restart: request.restart,
      });
      return { network: networkToProto(result.network), restartRequired: result.pendingFields.length > 0, pendingFields: result.pendingFields };
    },

    async listDhcpLeases(request) {
      const { leases, dhcpSource } = await manager.listLeases(request.name, request.mac);
      return { leases, dhcpSource: dhcpSourceToProto(dhcpSource) };
    },

    async deleteNetwork(request) {
      await manager.delete(request.name, { allowMissing: request.allowMissing });
      return {};
    },

    async startNetwork(request) {
      return { network: networkToProto(await manager.start(request.name)) };
    },

    async stopNetwork(request) {
      return { network: networkToProto(await manager.stop(request.name)) };
    },
  };
}

function parsePaging(request: ListNetworksRequest): { pageSize: number; after?: string } {
  if (request.pageSize < 0) {
    throw new InvalidArgumentError([{ field: "page_size", description: `invalid value ${request.pageSize}: use 0 for the default of ${DEFAULT_PAGE_SIZE}, or a positive number` }]);
  }
  const pageSize = request.pageSize === 0 ? DEFAULT_PAGE_SIZE : Math.min(request.pageSize, MAX_PAGE_SIZE);
  if (request.pageToken === "") {
    return { pageSize };
  }

  const decoded = Buffer.from(request.pageToken, "base64url").toString("utf8");
  if (!decoded.startsWith(PAGE_TOKEN_PREFIX)) {
    throw new InvalidArgumentError([{ field: "page_token", description: "invalid value: pass next_page_token from the previous response unchanged, or leave it empty for the first page" }]);
  }
  return { pageSize, after: decoded.slice(PAGE_TOKEN_PREFIX.length) };
}

function encodePageToken(lastName: string): string {
  return Buffer.from(PAGE_TOKEN_PREFIX + lastName, "utf8").toString("base64url");
}
