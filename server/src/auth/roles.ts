// Roles and the rules that give client identities a role. Nothing here knows
// about gRPC: the method-to-role table lives in grpc/method-roles.ts.

/** What a client may do, each role including the ones before it. */
export type Role = "reader" | "operator" | "admin";

export const ROLES: readonly Role[] = ["reader", "operator", "admin"];

/** Reports whether the `granted` role allows everything the `required` role does. */
export function roleCovers(granted: Role, required: Role): boolean {
  return ROLES.indexOf(granted) >= ROLES.indexOf(required);
}

/** The caller of one gRPC call, as the transport proved it. */
export type PeerIdentity =
  /** A UNIX-socket peer, from the kernel's SO_PEERCRED and SO_PEERGROUPS at connect time. */
  | { kind: "unix"; uid: number; gid: number; groups: number[]; pid: number }
  /** A plaintext loopback TCP peer; uid is the owner of its socket in /proc/net/tcp, when found. */
  | { kind: "tcp"; address: string; uid?: number }
  /** A mutual-TLS peer whose certificate chains to the configured client CA. */
  | { kind: "certificate"; address: string; commonName?: string; sans: string[] }
  /** A peer the agent could not identify; `reason` says why. */
  | { kind: "unknown"; reason: string };

/**
 * One entry of the `identities` list in the configuration file. A peer
 * matches when any of the listed values matches it.
 */
export interface IdentityRule {
  role: Role;
  /** UNIX-socket and loopback TCP peers with one of these uids. */
  uids: number[];
  /** UNIX-socket peers with one of these gids as primary or supplementary group. */
  gids: number[];
  /** TLS peers whose certificate subject has one of these common names. */
  commonNames: string[];
  /** TLS peers with one of these subject alternative names, written as "DNS:host", "URI:...", "IP:address" or "email:...". */
  sans: string[];
}

/** Default when the configuration lists no identities: root is admin, nobody else has a role. */
export const DEFAULT_IDENTITY_RULES: readonly IdentityRule[] = [
  { role: "admin", uids: [0], gids: [], commonNames: [], sans: [] },
];

/**
 * Returns the highest role that any matching rule gives the peer, or
 * undefined when no rule matches.
 */
export function roleOf(identity: PeerIdentity, rules: readonly IdentityRule[]): Role | undefined {
  let best: Role | undefined;
  for (const rule of rules) {
    if (matches(identity, rule) && (best === undefined || roleCovers(rule.role, best))) {
      best = rule.role;
    }
  }
  return best;
}

function matches(identity: PeerIdentity, rule: IdentityRule): boolean {
  switch (identity.kind) {
    case "unix":
      return rule.uids.includes(identity.uid) || [identity.gid, ...identity.groups].some((gid) => rule.gids.includes(gid));
    case "tcp":
      return identity.uid !== undefined && rule.uids.includes(identity.uid);
    case "certificate":
      return (identity.commonName !== undefined && rule.commonNames.includes(identity.commonName)) || identity.sans.some((san) => rule.sans.includes(san));
    case "unknown":
      return false;
  }
}

/** Formats an identity for error messages and logs, for example "uid 1000 (gid 1000)". */
export function describeIdentity(identity: PeerIdentity): string {
  switch (identity.kind) {
    case "unix":
      return `uid ${identity.uid} (gid ${identity.gid}, pid ${identity.pid})`;
    case "tcp":
      return identity.uid === undefined ? `TCP peer ${identity.address} (owner unknown)` : `uid ${identity.uid} (TCP peer ${identity.address})`;
    case "certificate": {
      const names = [identity.commonName === undefined ? undefined : `CN=${identity.commonName}`, ...identity.sans].filter((n) => n !== undefined);
      return `certificate ${names.length > 0 ? names.join(", ") : "without subject names"} (${identity.address})`;
    }
    case "unknown":
      return `unidentified peer (${identity.reason})`;
  }
}
