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
    const details = BadRequest.fromPartial({
      fieldViolations: error.violations.map((v) => ({ field: v.field, description: v.description })),
    });
    return new RichServerError(Status.INVALID_ARGUMENT, error.message, [details]);
  }
  if (error instanceof NotFoundError) {
    return new ServerError(Status.NOT_FOUND, error.message);
  }
  if (error instanceof AlreadyExistsError) {
    return new ServerError(Status.ALREADY_EXISTS, error.message);
  }
  if (error instanceof FailedPreconditionError) {
    return new ServerError(Status.FAILED_PRECONDITION, error.message);
  }
  if (error instanceof ResourceExhaustedError) {
    return new ServerError(Status.RESOURCE_EXHAUSTED, error.message);
  }
  if (error instanceof PermissionDeniedError) {
    return new ServerError(Status.PERMISSION_DENIED, error.message);
  }
  if (error instanceof UnavailableError || error instanceof LibvirtConnectionError) {
    return withCause(new ServerError(Status.UNAVAILABLE, `libvirtd is unavailable: ${(error as Error).message}`), error);
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
