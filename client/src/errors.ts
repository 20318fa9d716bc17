import { ClientError, Status } from "nice-grpc";
import { BadRequest, RichClientError } from "nice-grpc-error-details";

const brand = Symbol.for("netagent.NetAgentError");

/** One invalid field reported by the agent with INVALID_ARGUMENT. */
export interface FieldViolation {
  /** Path of the field in the request, for example "network.ipv4.address". */
  field: string;
  /** The problem and its fix, for people. */
  description: string;
}

/**
 * Error thrown by every SDK call that the agent answered with a non-OK status
 * (or that failed on the way, such as UNAVAILABLE or DEADLINE_EXCEEDED).
 */
export class NetAgentError extends Error {
  readonly [brand] = true;

  constructor(
    /** The gRPC status code. */
    readonly code: Status,
    /** The status message from the agent. */
    readonly details: string,
    /** Per-field problems, filled for INVALID_ARGUMENT. */
    readonly violations: FieldViolation[],
    /** gRPC method path, for example "/netagent.v1.NetworkService/CreateNetwork". */
    readonly method: string,
  ) {
    super(`${Status[code]}: ${details}`);
    this.name = "NetAgentError";
  }

  /** The status code's name, for example "NOT_FOUND". */
  get codeName(): string {
    return Status[this.code];
  }

  /** Matches errors from another copy of this package too, by brand instead of prototype. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === "object" && value !== null && brand in value;
  }
}

/** Converts nice-grpc's ClientError (with rich details when present) to NetAgentError. */
export function fromClientError(error: ClientError): NetAgentError {
  const violations: FieldViolation[] = [];
  if (error instanceof RichClientError) {
    for (const detail of error.extra) {
      if (detail.$type === BadRequest.$type) {
        violations.push(...detail.fieldViolations.map((v) => ({ field: v.field, description: v.description })));
      }
    }
  }
  return new NetAgentError(error.code, error.details, violations, error.path);
}
