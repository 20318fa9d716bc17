import { randomBytes } from "node:crypto";

/** The prefix libvirt and QEMU give generated guest MAC addresses; 0x52 marks a locally administered address. */
export const QEMU_MAC_PREFIX = "52:54:00";

const MAC_PATTERN = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/**
 * Returns what is wrong with a MAC address, or undefined when it can be a
 * guest NIC's address: six colon-separated hex bytes, unicast, not all zero.
 */
export function macAddressProblem(text: string): string | undefined {
  const mac = text.toLowerCase();
  if (!MAC_PATTERN.test(mac)) {
    return `invalid value ${JSON.stringify(text)}: use six hex bytes separated by colons, for example 52:54:00:12:34:56`;
  }
  // The lowest bit of the first byte marks multicast and broadcast addresses, which no NIC may use.
  if ((parseInt(mac.slice(0, 2), 16) & 1) === 1) {
    return `invalid value ${JSON.stringify(text)}: a multicast address cannot belong to a NIC; use a unicast address such as 52:54:00:12:34:56`;
  }
  if (mac === "00:00:00:00:00:00") {
    return `invalid value ${JSON.stringify(text)}: the all-zero address cannot belong to a NIC; use for example 52:54:00:12:34:56`;
  }
  return undefined;
}

/** Lowercases a MAC address, the form libvirt uses in domain XML. */
export function normalizeMacAddress(text: string): string {
  return text.toLowerCase();
}

/**
 * Generates a random MAC address in QEMU's 52:54:00 range that is not in `taken`.
 * @throws Error when 16 random picks all collide, which needs millions of taken addresses.
 */
export function generateMacAddress(taken: ReadonlySet<string>): string {
  for (let attempt = 0; attempt < 16; attempt++) {
    const suffix = [...randomBytes(3)].map((byte) => byte.toString(16).padStart(2, "0")).join(":");
    const mac = `${QEMU_MAC_PREFIX}:${suffix}`;
    if (!taken.has(mac)) {
      return mac;
    }
  }
  throw new Error(`no free MAC address found in ${QEMU_MAC_PREFIX}:xx:xx:xx after 16 attempts`);
}
