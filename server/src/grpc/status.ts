import { CallContext, ServerError, ServerMiddlewareCall, Status } from "nice-grpc";
import { BadRequest, RichServerError } from "nice-grpc-error-details";

import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
  UnavailableError,
} from "../errors";
import { LibvirtConnectionError } from "../libvirt";

/**
 * Upper bound on a status message and on each field violation, in UTF-16
 * code units. Both travel in HTTP/2 trailers, and grpc-js clients reject
 * metadata above 8 KiB by default, so an echoed multi-megabyte value would
 * leave the caller waiting for its deadline instead of seeing the error.
 */
export const MAX_STATUS_TEXT_LENGTH = 1024;

/** Cuts text to MAX_STATUS_TEXT_LENGTH, marking the cut. */
function bounded(text: string): string {
  if (text.length <= MAX_STATUS_TEXT_LENGTH) {
    return text;
  }
  const marker = `... (${text.length} characters)`;
  return text.slice(0, MAX_STATUS_TEXT_LENGTH - marker.length) + marker;
}

/**
 * Turns anything a handler throws into the ServerError the client receives.
 * This is the only place that decides status codes. Unexpected errors leave
 * as a generic INTERNAL; their cause stays on the returned error's `cause`
 * for the call log and never goes on the wire.
 */
export function toServerError(error: unknown): ServerError {
  if (error instanceof ServerError) {
    return error;
  }
  if (error instanceof InvalidArgumentError) {
    // Only the first violations fit in the trailers; the message says how many there were.
    const shown = error.violations.slice(0, 20);
    const details = BadRequest.fromPartial({
      fieldViolations: shown.map((v) => ({ field: bounded(v.field), description: bounded(v.description) })),
    });
    return new RichServerError(Status.INVALID_ARGUMENT, bounded(error.message), [details]);
  }
  if (error instanceof NotFoundError) {
    return new ServerError(Status.NOT_FOUND, bounded(error.message));
  }
  if (error instanceof AlreadyExistsError) {
    return new ServerError(Status.ALREADY_EXISTS, bounded(error.message));
  }
  if (error instanceof FailedPreconditionError) {
    return new ServerError(Status.FAILED_PRECONDITION, bounded(error.message));
  }
  if (error instanceof ResourceExhaustedError) {
    return new ServerError(Status.RESOURCE_EXHAUSTED, error.message);
  }
  if (error instanceof PermissionDeniedError) {
    return new ServerError(Status.PERMISSION_DENIED, bounded(error.message));
  }
  // UnavailableError says what is unavailable itself, for example that the agent is shutting down.
  if (error instanceof UnavailableError) {
    return withCause(new ServerError(Status.UNAVAILABLE, bounded(error.message)), error);
  }
  if (error instanceof LibvirtConnectionError) {
    return withCause(new ServerError(Status.UNAVAILABLE, bounded(`libvirtd is unavailable: ${error.message}`)), error);
  }
  return withCause(new ServerError(Status.INTERNAL, "internal error; the agent's log has the cause"), error);
}

function withCause(serverError: ServerError, cause: unknown): ServerError {
  Object.defineProperty(serverError, "cause", { value: cause, enumerable: false });
  return serverError;
}

/** Middleware that sends every error a handler throws through toServerError. */
export async function* statusMiddleware<Request, Response>(call: ServerMiddlewareCall<Request, Response>, context: CallContext) {
  try {
    return yield* call.next(call.request, context);
  } catch (error) {
    throw toServerError(error);
  }
}
