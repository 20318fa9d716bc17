// Encodes a streamed response once however many callers receive it.

interface MessageType {
  encode(message: any): { finish(): Uint8Array };
  fromPartial?: (object: any) => any;
}

interface TsProtoDefinition {
  methods: Record<string, { responseStream: boolean; responseType: MessageType }>;
}

/**
 * Returns a copy of a ts-proto service definition whose server-streaming
 * methods remember the bytes of every response object they encoded. A stream
 * that sends one message object to many callers, as WatchEvents sends each
 * event to every watcher, then encodes it once instead of once per caller.
 * Handlers must send complete messages and never change one after sending:
 * nice-grpc's fromPartial copy before each encode is left out, because a
 * fresh copy would never match the remembered object.
 */
export function withEncodeOnce<Definition extends TsProtoDefinition>(definition: Definition): Definition {
  const methods = Object.fromEntries(
    Object.entries(definition.methods).map(([key, method]) => [
      key,
      method.responseStream ? { ...method, responseType: encodeOnce(method.responseType) } : method,
    ]),
  );
  return { ...definition, methods };
}

function encodeOnce(type: MessageType): MessageType {
  const encoded = new WeakMap<object, Uint8Array>();
  return {
    ...type,
    fromPartial: undefined,
    encode: (message: object) => ({
      finish() {
        let bytes = encoded.get(message);
        if (bytes === undefined) {
          bytes = type.encode(message).finish();
          encoded.set(message, bytes);
        }
        return bytes;
      },
    }),
  };
}
