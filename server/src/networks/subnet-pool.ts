import { addressBits, formatSubnet, parseSubnet, Subnet, subnetsOverlap } from "./ip";

/** The agent's default pool for NAT and ISOLATED subnets, a private range apart from libvirt's own default 192.168.122.0/24. */
export const DEFAULT_SUBNET_POOL = "10.100.0.0/16";

/** Prefix length of the subnets that the pool hands out. */
export const ALLOCATED_PREFIX_LENGTH = 24;

/**
 * An IPv4 range that subnets for NAT and ISOLATED networks are taken from,
 * one /24 at a time. The pool does not remember what it handed out: every
 * allocation looks at what the host and libvirt use at that moment, so the
 * caller must serialise allocation and definition.
 */
export class SubnetPool {
  readonly range: Subnet;

  /** @throws Error when `cidr` is not an IPv4 subnet of prefix length 8 to 24 without host bits. */
  constructor(cidr: string) {
    const range = parseSubnet(cidr);
    if (range === undefined || range.family !== 4 || range.prefixLength < 8 || range.prefixLength > ALLOCATED_PREFIX_LENGTH) {
      throw new Error(
        `invalid subnet pool ${JSON.stringify(cidr)}: use an IPv4 subnet with a prefix length from 8 to ${ALLOCATED_PREFIX_LENGTH} and no host bits, for example ${DEFAULT_SUBNET_POOL}`,
      );
    }
    this.range = range;
  }

  toString(): string {
    return formatSubnet(this.range);
  }

  /**
   * Returns the first subnet of the pool that overlaps none of `inUse`, with
   * the given prefix length (default /24, never wider than the pool), or
   * undefined when every one is taken.
   */
  findFree(inUse: Subnet[], prefixLength = ALLOCATED_PREFIX_LENGTH): Subnet | undefined {
    const length = Math.max(prefixLength, this.range.prefixLength);
    const step = 1n << BigInt(addressBits(4) - length);
    const end = this.range.network + (1n << BigInt(addressBits(4) - this.range.prefixLength));

    for (let network = this.range.network; network < end; network += step) {
      const candidate: Subnet = { family: 4, network, prefixLength: length };
      if (!inUse.some((used) => subnetsOverlap(used, candidate))) {
        return candidate;
      }
    }
    return undefined;
  }
}
