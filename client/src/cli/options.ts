// Parsers for the CLI's repeatable option values. Each throws an Error that
// names the option and shows the expected form; the CLI reports it as a
// usage error.

import type { DhcpHost, DhcpRange, DnsForwarder, DnsHost } from "@netagent/proto";

/** Appends a repeated option's value to the list commander collects. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Parses START-END, for example "10.77.0.100-10.77.0.200" or "2001:db8:1::100-2001:db8:1::1ff". */
export function parseRange(text: string, option = "--dhcp-range"): DhcpRange {
  const [start, end, ...rest] = text.split("-");
  if (!start || !end || rest.length > 0) {
    throw new Error(`invalid ${option} ${JSON.stringify(text)}: use START-END, for example 10.77.0.100-10.77.0.200`);
  }
  return { start, end };
}

/** Parses MAC,IP[,HOSTNAME] for IPv4 static DHCP hosts. */
export function parseDhcpHost(text: string, option = "--dhcp-host"): DhcpHost {
  const [mac, ip, hostname = "", ...rest] = text.split(",");
  if (!mac || !ip || rest.length > 0) {
    throw new Error(`invalid ${option} ${JSON.stringify(text)}: use MAC,IP[,HOSTNAME], for example 52:54:00:12:34:56,10.77.0.10,web`);
  }
  return { mac, ip, hostname };
}

/** Parses HOSTNAME,IP for IPv6 static DHCP hosts, which libvirt matches by name. */
export function parseIpv6DhcpHost(text: string): DhcpHost {
  const [hostname, ip, ...rest] = text.split(",");
  if (!hostname || !ip || rest.length > 0) {
    throw new Error(`invalid --ipv6-dhcp-host ${JSON.stringify(text)}: use HOSTNAME,IP, for example web,2001:db8:1::10`);
  }
  return { mac: "", ip, hostname };
}

/** Parses IP=NAME[,NAME...] for DNS hosts. */
export function parseDnsHost(text: string, option = "--dns-host"): DnsHost {
  const [ip, names = "", ...rest] = text.split("=");
  const hostnames = names.split(",").filter((name) => name !== "");
  if (!ip || hostnames.length === 0 || rest.length > 0) {
    throw new Error(`invalid ${option} ${JSON.stringify(text)}: use IP=NAME[,NAME...], for example 10.77.0.20=db,db.lab.example`);
  }
  return { ip, hostnames };
}

/** Parses [DOMAIN=]ADDRESS, or DOMAIN= to resolve a domain only from the network's own names. */
export function parseForwarder(text: string): DnsForwarder {
  const equals = text.indexOf("=");
  const forwarder = equals < 0 ? { domain: "", address: text } : { domain: text.slice(0, equals), address: text.slice(equals + 1) };
  if (forwarder.domain === "" && forwarder.address === "") {
    throw new Error(`invalid --dns-forwarder ${JSON.stringify(text)}: use ADDRESS, DOMAIN=ADDRESS or DOMAIN=, for example 192.0.2.53 or corp.example=192.0.2.53`);
  }
  return forwarder;
}

/** Parses a whole number option within bounds. */
export function parseWholeNumber(text: string, option: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^[0-9]+$/.test(text) || value < min || value > max) {
    throw new Error(`invalid ${option} ${JSON.stringify(text)}: use a whole number from ${min} to ${max}`);
  }
  return value;
}
