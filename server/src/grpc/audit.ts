import { CallContext, ServerMiddlewareCall, Status } from "nice-grpc";
import type { Logger } from "pino";

import { describeIdentity } from "../auth/roles";
import { boundForLog } from "./call-log";
import { CallerContext, targetDomainOf, targetNetworkOf } from "./caller";
import { METHOD_ACCESS } from "./method-roles";
import { toServerError } from "./status";

/**
 * Middleware that writes one audit record per call of a mutating method
 * (one that needs the operator or admin role, or is missing from the role
 * table), denied calls included: who called, with which role, the method,
 * the network it targets, the status code and the duration.
 */
export function auditMiddleware(audit: Logger) {
  return async function* auditCall<Request, Response>(call: ServerMiddlewareCall<Request, Response>, context: CallContext & CallerContext) {
    const access = METHOD_ACCESS[call.method.path];
    if (access?.role === "reader" || access?.role === "anyone") {
      return yield* call.next(call.request, context);
    }

    const started = process.hrtime.bigint();
    const { identity, role } = context.caller;
    const record = {
      caller: describeIdentity(identity),
      identity,
      role: role ?? null,
      method: call.method.path,
      target: boundForLog(targetNetworkOf(call.request)) ?? null,
      domain: boundForLog(targetDomainOf(call.request)) ?? null,
    };
    const durationMs = () => Number(process.hrtime.bigint() - started) / 1e6;

    try {
      const result = yield* call.next(call.request, context);
      audit.info({ ...record, code: "OK", durationMs: durationMs() }, "audit");
      return result;
    } catch (error) {
      const serverError = toServerError(error);
      audit.info({ ...record, code: Status[serverError.code], durationMs: durationMs(), error: serverError.details }, "audit");
      throw serverError;
    }
  };
}
