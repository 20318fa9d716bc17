import type { CallContext, ServerMiddlewareCall } from "nice-grpc";

import { ProtectedNetworks } from "../auth/protection";
import { describeIdentity, roleCovers } from "../auth/roles";
import { PermissionDeniedError } from "../errors";
import { CallerContext, targetNetworkOf } from "./caller";
import { METHOD_ACCESS } from "./method-roles";

/**
 * Middleware that lets a call through only when the caller's role covers the
 * method's entry in METHOD_ACCESS and, for methods that change a network,
 * the network is not protected. Everything else fails with
 * PermissionDeniedError naming the role needed or the protection rule.
 */
export function authorizationMiddleware(protectedNetworks: ProtectedNetworks) {
  return async function* authorize<Request, Response>(call: ServerMiddlewareCall<Request, Response>, context: CallContext & CallerContext) {
    const path = call.method.path;
    const method = path.slice(path.lastIndexOf("/") + 1);
    const access = METHOD_ACCESS[path];
    if (access === undefined) {
      throw new PermissionDeniedError(`${path} has no entry in the agent's table of method roles, so nobody may call it`);
    }

    const { identity, role } = context.caller;
    if (access.role !== "anyone") {
      if (role === undefined) {
        throw new PermissionDeniedError(`${method} needs the ${access.role} role, and ${describeIdentity(identity)} has no role: map it in identities in the agent's configuration file`);
      }
      if (!roleCovers(role, access.role)) {
        throw new PermissionDeniedError(`${method} needs the ${access.role} role; ${describeIdentity(identity)} has the ${role} role`);
      }
    }

    if (access.changesNetwork) {
      const network = targetNetworkOf(call.request);
      const rule = network === undefined ? undefined : protectedNetworks.ruleFor(network);
      if (rule !== undefined) {
        throw new PermissionDeniedError(`network ${JSON.stringify(network)} is protected by the rule ${JSON.stringify(rule)} in protected-networks, so ${method} is not allowed on it; remove the rule from the agent's configuration to change the network through the agent`);
      }
    }

    return yield* call.next(call.request, context);
  };
}
