import { formatIp, parseIp } from "./ip";
import type { DnsConfig, NetworkSpecInput } from "./model";
import { dnsNameProblem, quote } from "./names";

type Report = (field: string, description: string) => void;

/**
 * Checks a DNS config and returns it in canonical form; undefined when every
 * value is the default (DNS on, no domain, hosts or forwarders), so that
 * specs compare equal however the caller wrote the defaults.
 */
export function checkDns(input: NonNullable<NetworkSpecInput["dns"]>, field: string, report: Report): DnsConfig | undefined {
  const enabled = input.enabled ?? true;
  const domain = input.domain ?? "";
  const hosts = input.hosts ?? [];
  const forwarders = input.forwarders ?? [];

  if (!enabled && (domain !== "" || hosts.length > 0 || forwarders.length > 0)) {
    report(field, "DNS is disabled, so domain, hosts and forwarders have no effect; remove them or set dns.enabled to true");
    return undefined;
  }

  if (domain !== "") {
    const problem = dnsNameProblem(domain);
    if (problem !== undefined) {
      report(`${field}.domain`, problem);
    }
  }

  const checkedHosts = hosts.map((host, index) => {
    const path = `${field}.hosts[${index}]`;
    const ip = parseIp(host.ip);
    if (ip === undefined) {
      report(`${path}.ip`, `invalid value ${quote(host.ip)}: use an IPv4 or IPv6 address, for example 10.77.0.10`);
    }
    if (host.hostnames.length === 0) {
      report(`${path}.hostnames`, "missing: give the address at least one host name");
    }
    host.hostnames.forEach((name, nameIndex) => {
      const problem = dnsNameProblem(name);
      if (problem !== undefined) {
        report(`${path}.hostnames[${nameIndex}]`, problem);
      }
    });
    return { ip: ip ? formatIp(ip) : host.ip, hostnames: [...host.hostnames] };
  });

  const checkedForwarders = forwarders.map((forwarder, index) => {
    const path = `${field}.forwarders[${index}]`;
    const address = forwarder.address ?? "";
    const forwarderDomain = forwarder.domain ?? "";
    const ip = address === "" ? undefined : parseIp(address);
    if (address === "" && forwarderDomain === "") {
      report(path, "missing: set address (an upstream DNS server), domain, or both");
    }
    if (address !== "" && ip === undefined) {
      report(`${path}.address`, `invalid value ${quote(address)}: use the IPv4 or IPv6 address of a DNS server, for example 192.0.2.53`);
    }
    if (forwarderDomain !== "") {
      const problem = dnsNameProblem(forwarderDomain);
      if (problem !== undefined) {
        report(`${path}.domain`, problem);
      }
    }
    return { address: ip ? formatIp(ip) : address, domain: forwarderDomain };
  });

  if (enabled && domain === "" && hosts.length === 0 && forwarders.length === 0) {
    return undefined;
  }
  return { enabled, domain, hosts: checkedHosts, forwarders: checkedForwarders };
}
