import { createHash } from "node:crypto";

/** Linux limits interface names to IFNAMSIZ - 1 = 15 bytes. */
export const MAX_BRIDGE_NAME_BYTES = 15;

const PREFIX = "na-";

/**
 * Generates the bridge name for a network that was created without one:
 * "na-<name>" when that fits in 15 bytes, otherwise "na-", the first 7
 * characters of the name, "-" and 4 hex digits of a hash of the full name,
 * so two long names with the same start still get different bridges.
 */
export function generateBridgeName(networkName: string): string {
  const short = PREFIX + networkName;
  if (Buffer.byteLength(short) <= MAX_BRIDGE_NAME_BYTES) {
    return short;
  }

  const hash = createHash("sha256").update(networkName).digest("hex").slice(0, 4);
  return `${PREFIX}${networkName.slice(0, 7)}-${hash}`;
}
