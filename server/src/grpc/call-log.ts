import { CallContext, ServerError, ServerMiddlewareCall, Status } from "nice-grpc";
import type { Logger } from "pino";

import { describeIdentity } from "../auth/roles";
import type { CallerContext } from "./caller";
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
      network: boundForLog(targetOf(call.request)),
      domain: domainOf(call.request),
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
  const fields = request as { name?: unknown; network?: unknown };
  if (typeof fields.name === "string" && fields.name !== "") {
    return fields.name;
  }
  // InterfaceService requests name the network directly.
  if (typeof fields.network === "string") {
    return fields.network === "" ? undefined : fields.network;
  }
  const network = fields.network as { name?: unknown } | undefined;
  if (typeof network?.name === "string") {
    return network.name;
  }
  return undefined;
}

/** Finds the libvirt domain an InterfaceService request is about, for the log line. */
function domainOf(request: unknown): string | undefined {
  const domain = typeof request === "object" && request !== null ? (request as { domain?: unknown }).domain : undefined;
  return typeof domain === "string" && domain !== "" ? boundForLog(domain) : undefined;
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
