import type { Role } from "../auth/roles";

/** What a gRPC method needs from its caller. */
export interface MethodAccess {
  /** The least role that may call the method; "anyone" admits every connected peer, even one without a role. */
  role: Role | "anyone";
  /** The method stops, changes or deletes the network its request names, so protected networks refuse it. */
  changesNetwork?: boolean;
}

/**
 * The role each method needs, by full method path. A method missing from
 * this table is denied to everyone (authorization.ts), so a new RPC stays
 * closed until it is added here; a unit test lists every method of every
 * service in @netagent/proto and fails for one without an entry.
 * Methods that need operator or admin are the mutating ones and are audited.
 */
export const METHOD_ACCESS: Readonly<Record<string, MethodAccess>> = {
  "/netagent.v1.NetworkService/GetNetwork": { role: "reader" },
  "/netagent.v1.NetworkService/ListNetworks": { role: "reader" },
  "/netagent.v1.NetworkService/ListDhcpLeases": { role: "reader" },
  "/netagent.v1.NetworkService/CreateNetwork": { role: "operator" },
  "/netagent.v1.NetworkService/UpdateNetwork": { role: "operator", changesNetwork: true },
  "/netagent.v1.NetworkService/StartNetwork": { role: "operator" },
  "/netagent.v1.NetworkService/StopNetwork": { role: "operator", changesNetwork: true },
  "/netagent.v1.NetworkService/DeleteNetwork": { role: "operator", changesNetwork: true },

  "/netagent.v1.InterfaceService/ListInterfaces": { role: "reader" },
  "/netagent.v1.InterfaceService/AttachInterface": { role: "operator" },
  "/netagent.v1.InterfaceService/DetachInterface": { role: "operator" },
  "/netagent.v1.InterfaceService/UpdateInterface": { role: "operator" },

  "/netagent.v1.EventService/WatchEvents": { role: "reader" },

  "/netagent.v1.HostService/GetHost": { role: "reader" },

  // Health checks come from load balancers and supervisors that have no
  // role; they learn nothing beyond whether the agent serves.
  "/grpc.health.v1.Health/Check": { role: "anyone" },
  "/grpc.health.v1.Health/Watch": { role: "anyone" },

  "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo": { role: "reader" },
};
