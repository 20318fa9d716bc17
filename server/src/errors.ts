// Domain errors raised by the network model. The gRPC layer turns each class
// into one status code in a single function (grpc/status.ts), so the model
// never needs to know about gRPC.

const brand = Symbol.for("netagent.AgentError");

/** A problem with one field of a request. */
export interface FieldViolation {
  /** Path of the field in the request, for example "network.ipv4.address". */
  field: string;
  /** The problem and its fix, for people. */
  description: string;
}

/** Base class of every error the agent raises on purpose. */
export abstract class AgentError extends Error {
  readonly [brand] = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }

  /**
   * Matches errors created by another copy of this module too (two bundled
   * versions of the package), by brand and class name instead of prototype.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== "object" || value === null || !(brand in value)) {
      return false;
    }
    return this === AgentError || (value as { name?: unknown }).name === this.name;
  }
}

/** The request is malformed; each violation names a field. */
export class InvalidArgumentError extends AgentError {
  constructor(readonly violations: FieldViolation[]) {
    super(violations.map((v) => `${v.field}: ${v.description}`).join("; "));
  }
}

/** The named network (or other resource) does not exist. */
export class NotFoundError extends AgentError {}

/** A resource of that name exists and differs from the request. */
export class AlreadyExistsError extends AgentError {}

/** The request is valid but cannot work in the host's current state. */
export class FailedPreconditionError extends AgentError {}

/** A limited resource, such as the subnet pool, has nothing left. */
export class ResourceExhaustedError extends AgentError {}

/** libvirtd cannot be reached; the caller may retry later. */
export class UnavailableError extends AgentError {}

/** The caller's role does not allow the call, or the target is protected. */
export class PermissionDeniedError extends AgentError {}
