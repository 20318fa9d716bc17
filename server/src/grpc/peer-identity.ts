import type { Http2Session } from "node:http2";

import { ServerInterceptingCall, ServerInterceptingCallInterface, ServerInterceptor } from "@grpc/grpc-js";
import type { Metadata } from "nice-grpc";

import { readPeerCredentials } from "../auth/peer-credentials";
import { PeerIdentity } from "../auth/roles";
import { findTcpPeerOwner } from "../auth/tcp-owner";

/**
 * Metadata key that carries the caller's identity from the interceptor to the
 * nice-grpc middleware. The interceptor removes any value a client sent under
 * this key before it sets its own, so a client cannot choose its identity.
 */
const IDENTITY_KEY = "netagent-peer-identity-bin";

/**
 * A grpc-js server interceptor that finds out who is calling, from the
 * connection the call arrived on: the client certificate for TLS, the
 * kernel's peer credentials for a UNIX socket, the socket owner for loopback
 * TCP. The result is computed once per connection.
 */
export function peerIdentityInterceptor(): ServerInterceptor {
  const identities = new WeakMap<object, PeerIdentity>();

  return (_method, call) =>
    new ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, passOn) {
            const session = sessionOf(call);
            let identity = session === undefined ? undefined : identities.get(session);
            if (identity === undefined) {
              identity = identify(call, session);
              if (session !== undefined) {
                identities.set(session, identity);
              }
            }
            metadata.remove(IDENTITY_KEY);
            metadata.set(IDENTITY_KEY, Buffer.from(JSON.stringify(identity)));
            passOn(metadata);
          },
        });
      },
    });
}

/**
 * Returns the identity that peerIdentityInterceptor attached to a call, or an
 * unknown identity if the call did not pass through it.
 */
export function identityFromMetadata(metadata: Metadata): PeerIdentity {
  const value = metadata.get(IDENTITY_KEY);
  if (value === undefined) {
    return { kind: "unknown", reason: "the call carries no identity from the connection" };
  }
  return JSON.parse(Buffer.from(value).toString("utf8")) as PeerIdentity;
}

function identify(call: ServerInterceptingCallInterface, session: Http2Session | undefined): PeerIdentity {
  const auth = call.getAuthContext();
  if (auth.transportSecurityType === "ssl") {
    return certificateIdentity(call.getPeer(), auth.sslPeerCertificate);
  }
  if ((session?.socket as { encrypted?: boolean } | undefined)?.encrypted) {
    return { kind: "unknown", reason: "the TLS peer's certificate was not verified" };
  }

  const connection = call.getConnectionInfo();
  if (connection.remoteAddress !== undefined) {
    const uid = findTcpPeerOwner({
      localAddress: connection.localAddress ?? "",
      localPort: connection.localPort ?? 0,
      remoteAddress: connection.remoteAddress,
      remotePort: connection.remotePort ?? 0,
    });
    return { kind: "tcp", address: call.getPeer(), uid };
  }

  // A UNIX socket: its peer credentials are read from the file descriptor.
  const fd = (session?.socket as unknown as { _handle?: { fd?: number } } | undefined)?._handle?.fd;
  if (fd === undefined || fd < 0) {
    return { kind: "unknown", reason: "the UNIX socket's file descriptor is not available" };
  }
  try {
    const credentials = readPeerCredentials(fd);
    return { kind: "unix", uid: credentials.uid, gid: credentials.gid, groups: credentials.groups, pid: credentials.pid };
  } catch (error) {
    return { kind: "unknown", reason: `reading the UNIX peer's credentials failed: ${(error as Error).message}` };
  }
}

/**
 * Returns the HTTP/2 session of a call. grpc-js offers no public accessor, so
 * this reads the base call's `stream` field. The interceptor must be the
 * first in the list for `call` to be that base call.
 * NOTE: if a grpc-js release renames the field, UNIX peers become unknown and
 * are denied, and the peer identity tests fail.
 */
function sessionOf(call: ServerInterceptingCallInterface): Http2Session | undefined {
  return (call as unknown as { stream?: { session?: Http2Session } }).stream?.session;
}

function certificateIdentity(address: string, certificate: { subject?: { CN?: string | string[] }; subjectaltname?: string } | undefined): PeerIdentity {
  if (certificate === undefined) {
    return { kind: "unknown", reason: "the TLS peer sent no certificate" };
  }
  const commonName = certificate.subject?.CN;
  return {
    kind: "certificate",
    address,
    commonName: Array.isArray(commonName) ? commonName[0] : commonName,
    sans: parseSubjectAltNames(certificate.subjectaltname ?? ""),
  };
}

/**
 * Parses Node's subjectaltname text ("DNS:a, IP Address:192.0.2.1,
 * URI:spiffe://x") into "DNS:a", "IP:192.0.2.1", "URI:spiffe://x". Node
 * writes values that contain a comma or quote as JSON strings.
 */
export function parseSubjectAltNames(text: string): string[] {
  const names: string[] = [];
  const pattern = /([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g;
  for (const match of text.matchAll(pattern)) {
    const type = match[1] === "IP Address" ? "IP" : match[1];
    const value = match[2].startsWith('"') ? (JSON.parse(match[2]) as string) : match[2];
    names.push(`${type}:${value}`);
  }
  return names;
}
