import type { CallContext, ServerMiddlewareCall } from "nice-grpc";

import { InvalidArgumentError } from "../errors";

const UNDECODABLE = Symbol("netagent.undecodableRequest");

/** What a guarded decoder returns instead of throwing. */
interface UndecodableRequest {
  [UNDECODABLE]: string;
}

type Decoder = (bytes: Uint8Array) => unknown;

/**
 * Returns a copy of a service definition (ts-proto or grpc-js form) whose
 * request decoders never throw. grpc-js rejects a request that fails to
 * decode with INTERNAL. With the guard the call reaches decodeGuardMiddleware
 * instead, which rejects it as INVALID_ARGUMENT.
 * NOTE: methods with a request stream keep their decoder, because the
 * middleware sees only the stream, not each message.
 */
export function withDecodeGuard<Definition extends object>(definition: Definition): Definition {
  if ("methods" in definition && typeof definition.methods === "object" && definition.methods !== null) {
    const methods = Object.fromEntries(
      Object.entries(definition.methods as Record<string, { requestStream: boolean; requestType: { decode: Decoder } }>).map(([key, method]) => [
        key,
        method.requestStream ? method : { ...method, requestType: { ...method.requestType, decode: guard(method.requestType.decode) } },
      ]),
    );
    return { ...definition, methods };
  }
  return Object.fromEntries(
    Object.entries(definition as Record<string, { requestStream: boolean; requestDeserialize: Decoder }>).map(([key, method]) => [
      key,
      method.requestStream ? method : { ...method, requestDeserialize: guard(method.requestDeserialize) },
    ]),
  ) as Definition;
}

function guard(decode: Decoder): Decoder {
  return (bytes) => {
    try {
      return decode(bytes);
    } catch (error) {
      return { [UNDECODABLE]: (error as Error).message } satisfies UndecodableRequest;
    }
  };
}

/** Middleware that rejects a request that withDecodeGuard could not decode. */
export async function* decodeGuardMiddleware<Request, Response>(call: ServerMiddlewareCall<Request, Response>, context: CallContext) {
  const request = call.request as unknown;
  if (typeof request === "object" && request !== null && UNDECODABLE in request) {
    const reason = (request as UndecodableRequest)[UNDECODABLE];
    throw new InvalidArgumentError([
      { field: "request", description: `not a valid protobuf encoding of the request message of ${call.method.path} (${reason}); encode it with stubs generated from proto/netagent/v1` },
    ]);
  }
  return yield* call.next(call.request, context);
}
