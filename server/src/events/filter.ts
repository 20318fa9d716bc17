import { InvalidArgumentError } from "../errors";
import { validateNetworkName } from "../networks/validate";
import type { AgentEvent } from "./model";

/** The events a watcher receives. Resync markers pass every filter. */
export interface EventFilter {
  /** Only events about this network: its network events, and interface events of interfaces connected to it. */
  network?: string;
  /** Only interface events of this domain, by name. Excludes network events. */
  domain?: string;
}

/** Maximum length of a domain name in a filter, in bytes. libvirt's own limit depends on the driver, so this only rejects garbage. */
const MAX_DOMAIN_NAME_BYTES = 1024;

/**
 * Checks the filter fields of a watch request.
 * @throws InvalidArgumentError naming the field.
 */
export function validateEventFilter(filter: EventFilter): void {
  if (filter.network !== undefined && filter.network !== "") {
    validateNetworkName(filter.network, "network");
  }
  const domain = filter.domain ?? "";
  if (Buffer.byteLength(domain) > MAX_DOMAIN_NAME_BYTES) {
    throw new InvalidArgumentError([{ field: "domain", description: `invalid value: longer than ${MAX_DOMAIN_NAME_BYTES} bytes; use the domain's name as virsh list shows it` }]);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(domain)) {
    throw new InvalidArgumentError([{ field: "domain", description: "invalid value: contains a control character; use the domain's name as virsh list shows it" }]);
  }
}

/** True when the event passes the filter. Empty filter fields match everything. */
export function matchesFilter(event: AgentEvent, filter: EventFilter): boolean {
  const network = filter.network || undefined;
  const domain = filter.domain || undefined;

  switch (event.kind) {
    case "resync":
      return true;
    case "network":
      return domain === undefined && (network === undefined || event.change.name === network);
    case "interface":
      return (network === undefined || event.change.network === network) && (domain === undefined || event.change.domain === domain);
  }
}
