// Checks of the names and identifiers that network specs carry: host names,
// DNS domains, MAC addresses and Linux interface names.

import { MAX_BRIDGE_NAME_BYTES } from "./bridge-name";

const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";

/** A DNS name of letters, digits and hyphens in dot-separated labels (RFC 1123), at most 253 characters. */
const DNS_NAME_PATTERN = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);

const MAC_PATTERN = /^[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}$/;

const INTERFACE_NAME_PATTERN = /^[A-Za-z0-9_.-]+$/;

/** Quotes a user value for an error message, escaping control characters and cutting long values. */
export function quote(value: string): string {
  const shown = value.length > 80 ? `${value.slice(0, 80)}...` : value;
  return JSON.stringify(shown);
}

/** Returns what is wrong with a host name or DNS domain, or undefined when it is valid. */
export function dnsNameProblem(name: string): string | undefined {
  if (name.length > 253 || !DNS_NAME_PATTERN.test(name)) {
    return `invalid value ${quote(name)}: use letters, digits and hyphens in dot-separated labels of 1 to 63 characters, for example guest-1.lab.example`;
  }
  return undefined;
}

/** Returns what is wrong with a MAC address, or undefined when it is a valid unicast MAC. */
export function macProblem(mac: string): string | undefined {
  if (!MAC_PATTERN.test(mac)) {
    return `invalid value ${quote(mac)}: use six hex pairs separated by colons, for example 52:54:00:12:34:56`;
  }
  if ((parseInt(mac.slice(0, 2), 16) & 1) === 1) {
    return `invalid value ${quote(mac)}: a multicast MAC address cannot belong to a guest NIC; clear the lowest bit of the first byte, for example 52:54:00:12:34:56`;
  }
  return undefined;
}

/** Returns what is wrong with a Linux interface name, or undefined when it is valid. */
export function interfaceNameProblem(name: string): string | undefined {
  const bytes = Buffer.byteLength(name);
  if (bytes > MAX_BRIDGE_NAME_BYTES) {
    return `invalid value ${quote(name)}: ${bytes} bytes, but Linux allows at most ${MAX_BRIDGE_NAME_BYTES}`;
  }
  if (!INTERFACE_NAME_PATTERN.test(name) || name === "." || name === "..") {
    return `invalid value ${quote(name)}: use characters from A-Z a-z 0-9 _ . -`;
  }
  return undefined;
}
