import type { CallContext, ServerMiddlewareCall } from "nice-grpc";

import { IdentityRule, PeerIdentity, Role, roleOf } from "../auth/roles";
import { identityFromMetadata } from "./peer-identity";

/** Who is calling and the role the configuration gives them (undefined: none). */
export interface Caller {
  identity: PeerIdentity;
  role?: Role;
}

/** Call context field added by callerMiddleware. */
export type CallerContext = { caller: Caller };

/**
 * Middleware that puts the caller's identity, found by
 * peerIdentityInterceptor, and role on the call context for the middleware
 * after it.
 */
export function callerMiddleware(identities: readonly IdentityRule[]) {
  return async function* caller<Request, Response>(call: ServerMiddlewareCall<Request, Response, CallerContext>, context: CallContext) {
    const identity = identityFromMetadata(context.metadata);
    return yield* call.next(call.request, { ...context, caller: { identity, role: roleOf(identity, identities) } });
  };
}

/** Finds the network a request is about: its `name`, or the name of its `network`. */
export function targetNetworkOf(request: unknown): string | undefined {
  if (typeof request !== "object" || request === null) {
    return undefined;
  }
  const fields = request as { name?: unknown; network?: unknown };
  if (typeof fields.name === "string" && fields.name !== "") {
    return fields.name;
  }
  // InterfaceService requests name the network directly.
  if (typeof fields.network === "string") {
    return fields.network === "" ? undefined : fields.network;
  }
  const network = fields.network as { name?: unknown } | undefined;
  if (typeof network?.name === "string" && network.name !== "") {
    return network.name;
  }
  return undefined;
}

/** Finds the libvirt domain a request is about, for InterfaceService calls. */
export function targetDomainOf(request: unknown): string | undefined {
  const domain = typeof request === "object" && request !== null ? (request as { domain?: unknown }).domain : undefined;
  return typeof domain === "string" && domain !== "" ? domain : undefined;
}
