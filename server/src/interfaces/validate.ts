import { FieldViolation, InvalidArgumentError } from "../errors";
import { validateNetworkName } from "../networks/validate";
import { macAddressProblem, normalizeMacAddress } from "./mac";
import {
  AttachRequest,
  DEFAULT_DETACH_TIMEOUT_SECONDS,
  DEFAULT_MODEL,
  DetachRequest,
  InterfaceFilter,
  InterfaceSelector,
  LinkState,
  MAX_DETACH_TIMEOUT_SECONDS,
  UpdateRequest,
  ViewSelection,
} from "./model";

/** libvirt stores a domain as NAME.xml, and most file systems allow 255 bytes per file name. */
const MAX_DOMAIN_NAME_BYTES = 251;

/**
 * NIC models that QEMU's x86 machines emulate. libvirt stores any model name
 * in a persistent definition and fails only at the next start, so an
 * unknown name is rejected here. QEMU 8.0 added igb, and QEMU 7.2 rejects it in
 * a live attach with "'igb' is not a valid device model name".
 */
export const KNOWN_MODELS: readonly string[] = [
  "virtio",
  "virtio-transitional",
  "virtio-non-transitional",
  "e1000",
  "e1000e",
  "igb",
  "rtl8139",
  "vmxnet3",
  "ne2k_pci",
  "pcnet",
  "i82551",
  "i82557b",
  "i82559er",
];

/** The characters libvirt accepts in device aliases, its own ("net0") and user aliases ("ua-uplink"). */
const ALIAS_PATTERN = /^[A-Za-z0-9_-]+$/;

/** An attach request after validation, with every default except the views filled in. */
export interface ValidAttach extends ViewSelection {
  domain: string;
  network: string;
  /** Normalized, or undefined to have one generated. */
  macAddress: string | undefined;
  model: string;
  linkState: LinkState;
}

/** A selector after validation: exactly one of the two is set, a MAC address in lowercase. */
export type ValidSelector = { macAddress: string; alias?: undefined } | { alias: string; macAddress?: undefined };

export interface ValidDetach extends ViewSelection {
  domain: string;
  selector: ValidSelector;
  timeoutSeconds: number;
}

export interface ValidUpdate extends ViewSelection {
  domain: string;
  selector: ValidSelector;
  linkState: LinkState;
}

/** @throws InvalidArgumentError listing every invalid field. */
export function validateAttach(request: AttachRequest): ValidAttach {
  const violations: FieldViolation[] = [];
  checkDomainName(request.domain, "domain", violations);
  checkNetworkName(request.network, "network", violations);

  const macAddress = request.macAddress ? request.macAddress : undefined;
  if (macAddress !== undefined) {
    const problem = macAddressProblem(macAddress);
    if (problem !== undefined) {
      violations.push({ field: "mac_address", description: problem });
    }
  }

  const model = request.model ? request.model : DEFAULT_MODEL;
  if (!KNOWN_MODELS.includes(model)) {
    violations.push({
      field: "model",
      description: `invalid value ${JSON.stringify(model)}: use one of ${KNOWN_MODELS.join(", ")}; virtio performs best`,
    });
  }
  checkViews(request, violations);
  throwIfAny(violations);

  return {
    domain: request.domain,
    network: request.network,
    macAddress: macAddress === undefined ? undefined : normalizeMacAddress(macAddress),
    model,
    linkState: request.linkState ?? "up",
    live: request.live,
    persistent: request.persistent,
  };
}

/** @throws InvalidArgumentError listing every invalid field. */
export function validateDetach(request: DetachRequest): ValidDetach {
  const violations: FieldViolation[] = [];
  checkDomainName(request.domain, "domain", violations);
  const selector = checkSelector(request, violations);
  checkViews(request, violations);

  const timeoutSeconds = request.timeoutSeconds ?? 0;
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 0 || timeoutSeconds > MAX_DETACH_TIMEOUT_SECONDS) {
    violations.push({
      field: "timeout_seconds",
      description: `invalid value ${timeoutSeconds}: use 0 for the default of ${DEFAULT_DETACH_TIMEOUT_SECONDS} seconds, or 1 to ${MAX_DETACH_TIMEOUT_SECONDS}`,
    });
  }
  throwIfAny(violations);

  return {
    domain: request.domain,
    selector: selector!,
    timeoutSeconds: timeoutSeconds === 0 ? DEFAULT_DETACH_TIMEOUT_SECONDS : timeoutSeconds,
    live: request.live,
    persistent: request.persistent,
  };
}

/** @throws InvalidArgumentError listing every invalid field. */
export function validateUpdate(request: UpdateRequest): ValidUpdate {
  const violations: FieldViolation[] = [];
  checkDomainName(request.domain, "domain", violations);
  const selector = checkSelector(request, violations);
  checkViews(request, violations);
  if (request.linkState === undefined) {
    violations.push({ field: "link_state", description: "missing: set LINK_STATE_UP or LINK_STATE_DOWN" });
  }
  throwIfAny(violations);

  return {
    domain: request.domain,
    selector: selector!,
    linkState: request.linkState!,
    live: request.live,
    persistent: request.persistent,
  };
}

/** @throws InvalidArgumentError for a malformed domain or network name; empty names mean "all". */
export function validateFilter(filter: InterfaceFilter): void {
  const violations: FieldViolation[] = [];
  if (filter.domain) {
    checkDomainName(filter.domain, "domain", violations);
  }
  if (filter.network) {
    checkNetworkName(filter.network, "network", violations);
  }
  throwIfAny(violations);
}

function checkDomainName(name: string, field: string, violations: FieldViolation[]): void {
  const quoted = JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}...` : name);
  if (name === "") {
    violations.push({ field, description: "missing: set the libvirt domain name, as `virsh list --all` shows it" });
  } else if (name.includes("/") || /[\u0000-\u001f\u007f]/.test(name)) {
    violations.push({ field, description: `invalid value ${quoted}: libvirt domain names contain no '/' and no control characters` });
  } else if (Buffer.byteLength(name) > MAX_DOMAIN_NAME_BYTES) {
    violations.push({ field, description: `invalid value: ${Buffer.byteLength(name)} bytes, but libvirt domain names have at most ${MAX_DOMAIN_NAME_BYTES}` });
  }
}

function checkNetworkName(name: string, field: string, violations: FieldViolation[]): void {
  try {
    validateNetworkName(name, field);
  } catch (error) {
    if (!(error instanceof InvalidArgumentError)) {
      throw error;
    }
    violations.push(...error.violations);
  }
}

function checkSelector(selector: InterfaceSelector, violations: FieldViolation[]): ValidSelector | undefined {
  const macAddress = selector.macAddress ? selector.macAddress : undefined;
  const alias = selector.alias ? selector.alias : undefined;

  if (macAddress !== undefined && alias !== undefined) {
    violations.push({ field: "alias", description: "set either mac_address or alias, not both" });
    return undefined;
  }
  if (macAddress !== undefined) {
    const problem = macAddressProblem(macAddress);
    if (problem !== undefined) {
      violations.push({ field: "mac_address", description: problem });
      return undefined;
    }
    return { macAddress: normalizeMacAddress(macAddress) };
  }
  if (alias !== undefined) {
    if (!ALIAS_PATTERN.test(alias)) {
      violations.push({ field: "alias", description: `invalid value ${JSON.stringify(alias)}: use the alias that ListInterfaces reports, for example net0` });
      return undefined;
    }
    return { alias };
  }
  violations.push({ field: "mac_address", description: "missing: set mac_address or alias to say which interface" });
  return undefined;
}

function checkViews(views: ViewSelection, violations: FieldViolation[]): void {
  if (views.live === false && views.persistent === false) {
    violations.push({
      field: "live",
      description: "live and persistent are both false, so nothing would change: set either to true, or leave both unset for the default",
    });
  }
}

function throwIfAny(violations: FieldViolation[]): void {
  if (violations.length > 0) {
    throw new InvalidArgumentError(violations);
  }
}
