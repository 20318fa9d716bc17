// The kinds of failure a libvirt call can have: libvirtd executed the call
// and reported an error (LibvirtError), the call never got a reply because
// the connection is closed, was lost or broke the protocol
// (LibvirtConnectionError), or the reply did not come in time
// (LibvirtTimeoutError). Only a LibvirtConnectionError needs a new connection.
//
// Each class carries a brand from the global symbol registry, and
// `instanceof` checks the brand, so errors created by another copy of this
// module (two installed versions of the package) still match.

import { ErrorCode, ErrorLevel } from "./protocol";
import type { DomainRef, NetworkRef } from "./structs";

const libvirtErrorBrand = Symbol.for("netagent.libvirt.LibvirtError");
const connectionErrorBrand = Symbol.for("netagent.libvirt.LibvirtConnectionError");
const timeoutErrorBrand = Symbol.for("netagent.libvirt.LibvirtTimeoutError");

function hasBrand(value: unknown, brand: symbol): boolean {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}

/** Fields of libvirt's remote_error struct (virErrorPtr on the wire). */
export interface RemoteErrorFields {
  /** virErrorNumber, for example 43 (VIR_ERR_NO_NETWORK). */
  code: number;
  /** virErrorDomain: the part of libvirt that raised the error, for example 19 (VIR_FROM_NETWORK). */
  domain: number;
  /** libvirt's message, for example "Network not found: no network with matching name 'x'". */
  message?: string;
  /** virErrorLevel: 1 warning, 2 error. */
  level: number;
  str1?: string;
  str2?: string;
  str3?: string;
  int1: number;
  int2: number;
  /** Deprecated by libvirt and normally absent. */
  dom?: DomainRef;
  /** Deprecated by libvirt and normally absent. */
  net?: NetworkRef;
}

/** Fields for constructing a LibvirtError by hand: code and domain are required, level defaults to 2 (error). */
export type LibvirtErrorInit = Pick<RemoteErrorFields, "code" | "domain"> & Partial<RemoteErrorFields>;

/** An error that libvirtd returned for a call. The connection stays usable. */
export class LibvirtError extends Error {
  readonly [libvirtErrorBrand] = true;
  readonly code: number;
  readonly domain: number;
  readonly level: number;
  /** libvirt's own message, without additions. Undefined when libvirtd sent none. */
  readonly libvirtMessage: string | undefined;
  /** The remote procedure that failed, when known. */
  readonly procedure: number | undefined;
  /** Every field of the remote_error that libvirtd sent. */
  readonly fields: RemoteErrorFields;

  constructor(init: LibvirtErrorInit, procedure?: number) {
    const fields: RemoteErrorFields = { level: ErrorLevel.ERROR, int1: 0, int2: 0, ...init };
    super(fields.message ?? `libvirt error code ${fields.code} (error domain ${fields.domain}) without a message`);
    this.name = "LibvirtError";
    this.code = fields.code;
    this.domain = fields.domain;
    this.level = fields.level;
    this.libvirtMessage = fields.message;
    this.procedure = procedure;
    this.fields = fields;
  }

  /** True when the network does not exist (VIR_ERR_NO_NETWORK). */
  isNoNetwork(): boolean {
    return this.code === ErrorCode.NO_NETWORK;
  }

  /** True when the domain does not exist (VIR_ERR_NO_DOMAIN). */
  isNoDomain(): boolean {
    return this.code === ErrorCode.NO_DOMAIN;
  }

  /**
   * True when a network of that name or UUID already exists. libvirt's network
   * driver reports this as VIR_ERR_OPERATION_FAILED with "already exists" in
   * the message more often than as VIR_ERR_NETWORK_EXIST, so both count.
   */
  isNetworkExists(): boolean {
    if (this.code === ErrorCode.NETWORK_EXIST) {
      return true;
    }
    return this.code === ErrorCode.OPERATION_FAILED && /already exists/i.test(this.libvirtMessage ?? "");
  }

  /** True when the object is in the wrong state, such as starting an active network (VIR_ERR_OPERATION_INVALID). */
  isOperationInvalid(): boolean {
    return this.code === ErrorCode.OPERATION_INVALID;
  }

  /** True when libvirtd does not know the procedure number, for example an older daemon. */
  isUnknownProcedure(): boolean {
    return /unknown procedure/i.test(this.libvirtMessage ?? "");
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== LibvirtError) {
      return Function.prototype[Symbol.hasInstance].call(this, value);
    }
    return hasBrand(value, libvirtErrorBrand);
  }
}

/** Cause category of a LibvirtConnectionError. */
export type ConnectionErrorReason =
  /** The connection was closed before or while the call was made. */
  | "not-connected"
  /** The socket failed, libvirtd closed it, or keepalive declared it dead. */
  | "connection-lost"
  /** libvirtd sent data that breaks the RPC protocol, so the connection was closed. */
  | "protocol-violation"
  /** The handshake found no authentication scheme that this client supports. */
  | "unsupported-auth";

/**
 * A call got no reply because of the connection, not because of libvirt.
 * The connection is closed in every case. A new connection can help unless
 * the reason is "unsupported-auth".
 */
export class LibvirtConnectionError extends Error {
  readonly [connectionErrorBrand] = true;
  readonly reason: ConnectionErrorReason;

  /** `options.reason` defaults to "connection-lost". */
  constructor(message: string, options: { reason?: ConnectionErrorReason; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "LibvirtConnectionError";
    this.reason = options.reason ?? "connection-lost";
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== LibvirtConnectionError) {
      return Function.prototype[Symbol.hasInstance].call(this, value);
    }
    return hasBrand(value, connectionErrorBrand);
  }
}

/**
 * A call got no reply within its timeout. The connection stays open, and a
 * reply that arrives later is dropped, so the call may still have taken effect.
 */
export class LibvirtTimeoutError extends Error {
  readonly [timeoutErrorBrand] = true;

  constructor(
    readonly procedure: number,
    readonly timeoutMs: number,
  ) {
    super(`libvirt call to remote procedure ${procedure} got no reply within ${timeoutMs} ms`);
    this.name = "LibvirtTimeoutError";
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== LibvirtTimeoutError) {
      return Function.prototype[Symbol.hasInstance].call(this, value);
    }
    return hasBrand(value, timeoutErrorBrand);
  }
}

/** True when `value` is a LibvirtError, from this copy of the module or another. */
export function isLibvirtError(value: unknown): value is LibvirtError {
  return hasBrand(value, libvirtErrorBrand);
}

/** True when `value` is a LibvirtConnectionError, from this copy of the module or another. */
export function isLibvirtConnectionError(value: unknown): value is LibvirtConnectionError {
  return hasBrand(value, connectionErrorBrand);
}

/** True when `value` is a LibvirtTimeoutError, from this copy of the module or another. */
export function isLibvirtTimeoutError(value: unknown): value is LibvirtTimeoutError {
  return hasBrand(value, timeoutErrorBrand);
}
