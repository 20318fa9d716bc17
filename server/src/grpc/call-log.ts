import { CallContext, ServerError, ServerMiddlewareCall, Status } from "nice-grpc";
import type { Logger } from "pino";

import { describeIdentity } from "../auth/roles";
import { CallerContext, targetDomainOf, targetNetworkOf } from "./caller";
import { toServerError } from "./status";

/**
 * Middleware that writes one structured log line per call with the method,
 * peer, caller identity and role, status code, duration and the network and
 * domain the call targets. Failed calls also log the status message, and
 * INTERNAL and UNAVAILABLE ones the underlying cause.
 */
export function callLogMiddleware(logger: Logger) {
  return async function* callLog<Request, Response>(
    call: ServerMiddlewareCall<Request, Response>,
    context: CallContext & CallerContext,
  ) {
    const started = process.hrtime.bigint();
    const fields = {
      method: call.method.path,
      peer: context.peer,
      caller: describeIdentity(context.caller.identity),
      role: context.caller.role,
      network: boundForLog(targetNetworkOf(call.request)),
      domain: boundForLog(targetDomainOf(call.request)),
    };
    const durationMs = () => Number(process.hrtime.bigint() - started) / 1e6;

    try {
      const result = yield* call.next(call.request, context);
      logger.info({ ...fields, code: "OK", durationMs: durationMs() }, "call");
      return result;
    } catch (error) {
      const serverError = toServerError(error);
      const cause = (serverError as ServerError & { cause?: unknown }).cause;
      const level = serverError.code === Status.INTERNAL ? "error" : "info";
      logger[level](
        { ...fields, code: Status[serverError.code], durationMs: durationMs(), error: serverError.details, cause },
        "call",
      );
      throw serverError;
    }
  };
}

/** Longest request value, in characters, that a log line repeats in full. */
const MAX_LOGGED_VALUE = 256;

/**
 * Cuts a value from a request to MAX_LOGGED_VALUE characters, because a
 * megabyte-sized name in a log line makes the line as large, and pino may
 * still be writing it when the agent exits.
 */
export function boundForLog(value: string | undefined): string | undefined {
  if (value === undefined || value.length <= MAX_LOGGED_VALUE) {
    return value;
  }
  return `${value.slice(0, MAX_LOGGED_VALUE)}... (${value.length} characters)`;
}
