import { CallContext, ServerError, ServerMiddlewareCall, Status } from "nice-grpc";
import type { Logger } from "pino";

import { describeIdentity } from "../auth/roles";
import type { CallerContext } from "./caller";
import { toServerError } from "./status";

/**
 * Middleware that writes one structured log line per call with the method,
 * peer, caller identity and role, status code, duration and target network.
 * Failed calls also log the status message, and INTERNAL and UNAVAILABLE ones
 * the underlying cause.
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
      network: targetOf(call.request),
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

/** Finds the network name a request is about, for the log line. */
function targetOf(request: unknown): string | undefined {
  if (typeof request !== "object" || request === null) {
    return undefined;
  }
  const fields = request as { name?: unknown; network?: { name?: unknown } };
  if (typeof fields.name === "string" && fields.name !== "") {
    return fields.name;
  }
  if (typeof fields.network?.name === "string") {
    return fields.network.name;
  }
  return undefined;
}
