import { FailedPreconditionError, InvalidArgumentError } from "../errors";
import { LibvirtClient, NetworkRef, NetworkUpdateFlag, NetworkXmlFlag } from "../libvirt";
import { connectivityOf } from "./connectivity";
import { ManagerContext, PLANNING_KEY } from "./context";
import { findConflicts } from "./host-conflicts";
import { readAllNetworks } from "./inventory";
import type { Network, NetworkSpec, NetworkSpecInput } from "./model";
import { describe, lookupOrThrow, quote, step } from "./steps";
import { applyMask, restartFields, SectionChange, sectionChanges, specToInput } from "./update-plan";
import { validateNetworkName, validateSpec } from "./validate";
import { parseNetworkXml, ParsedNetworkXml, renderNetworkXml, unmodeledElements } from "./xml";

/** What UpdateNetwork asks for. */
export interface UpdateRequest {
  /** The network's name and new values; only the fields in `paths` are read. */
  input: NetworkSpecInput;
  /** Proto field paths, for example "ipv4.dhcp_hosts", or "*". */
  paths: string[];
  validateOnly?: boolean;
  /** Stop and start a running network when a change needs it. */
  restart?: boolean;
}

export interface UpdateResult {
  /** The network as its persistent definition now stands. */
  network: Network;
  /** Fields that the running network gets only at its next start; empty when nothing waits. */
  pendingFields: string[];
}

/**
 * Changes the fields of a network named in the request's paths. DHCP ranges,
 * static DHCP hosts and DNS hosts change live and in the persistent
 * definition through NETWORK_UPDATE; other changes redefine the network and
 * take effect at its next start, or at once when the request asks for a
 * restart. A failed restart restores and starts the previous definition.
 */
export async function updateNetwork(context: ManagerContext, request: UpdateRequest): Promise<UpdateResult> {
  validateNetworkName(request.input.name, "network.name");

  return context.exclusive(request.input.name, async () => {
    const libvirt = await context.session.client();
    const ref = await lookupOrThrow(libvirt, request.input.name);
    const [active, persistent, autostart] = await Promise.all([
      libvirt.networkIsActive(ref),
      libvirt.networkIsPersistent(ref),
      libvirt.networkGetAutostart(ref),
    ]);
    const configXml = await libvirt.networkGetXmlDesc(ref, persistent ? NetworkXmlFlag.INACTIVE : 0);
    const config = parseNetworkXml(configXml);
    const live = active ? parseNetworkXml(await libvirt.networkGetXmlDesc(ref, 0)) : undefined;

    const target = targetSpec(config, autostart, request);
    const pending = live === undefined ? [] : restartFields(live, target);
    const configRestartFields = restartFields(config, target);

    if (configRestartFields.length > 0) {
      // Subnets, bridges and uplinks are checked like on create, against every other network.
      await context.planning.run(PLANNING_KEY, async () => {
        const [networks, facts] = await Promise.all([readAllNetworks(libvirt), context.hostProbe.read()]);
        const conflicts = findConflicts(target, facts, networks, context.subnetPool, { name: config.name, bridge: live?.bridge || config.bridge });
        if (conflicts.length > 0) {
          throw new FailedPreconditionError(`cannot update network ${quote(config.name)}: ${conflicts.join("; ")}`);
        }
      });
    }
    const unmodeled = unmodeledElements(configXml);
    if (configRestartFields.length > 0 && unmodeled.length > 0) {
      throw new FailedPreconditionError(
        `network ${quote(config.name)} has ${unmodeled.join(", ")}, which the agent does not manage and a redefinition for ${configRestartFields.join(", ")} would drop; change it with virsh net-edit instead`,
      );
    }
    if (!persistent && configRestartFields.length > 0) {
      throw new FailedPreconditionError(
        `network ${quote(config.name)} is transient, so only DHCP ranges, DHCP hosts and DNS hosts can change (${configRestartFields.join(", ")} requested); define it persistently or delete and create it`,
      );
    }

    if (request.validateOnly) {
      const network: Network = { ...target, uuid: config.uuid, active, persistent, connectivity: connectivityOf(target) };
      return { network, pendingFields: request.restart ? [] : pending };
    }

    let pendingFields = pending;
    if (live !== undefined && request.restart && pending.length > 0) {
      await redefineAndRestart(libvirt, ref, target, config, configXml);
      pendingFields = [];
    } else {
      await applyChanges(libvirt, ref, { target, config, live, configXml, persistent });
    }

    if (persistent && target.autostart !== autostart) {
      await step("set autostart of", config.name, () => libvirt.networkSetAutostart(ref, target.autostart));
    }
    // The cache holds the running network; the response shows the persistent definition.
    await context.store(libvirt, ref);
    return { network: await describe(libvirt, ref, { inactiveXml: true }), pendingFields };
  });
}

/** Applies the request's paths to the persistent definition and validates the result. */
function targetSpec(config: ParsedNetworkXml, autostart: boolean, request: UpdateRequest): NetworkSpec {
  const current = { ...specToInput({ ...config, autostart }), bridge: config.bridge || undefined };
  const merged = applyMask(current, request.input, request.paths);
  const { spec, allocateIpv4 } = validateSpec(merged, "network.");
  if (allocateIpv4) {
    throw new InvalidArgumentError([{ field: "network.ipv4", description: `missing: ${config.type.toUpperCase()} networks need an IPv4 subnet; set ipv4.address` }]);
  }
  return spec;
}

/**
 * Makes the live changes with NETWORK_UPDATE and brings the persistent
 * definition to the target: by NETWORK_UPDATE too when only live-capable
 * sections differ, by redefining it otherwise.
 */
async function applyChanges(
  libvirt: LibvirtClient,
  ref: NetworkRef,
  state: { target: NetworkSpec; config: ParsedNetworkXml; live?: ParsedNetworkXml; configXml: string; persistent: boolean },
): Promise<void> {
  const { target, config, live, persistent } = state;
  const liveChanges = live === undefined ? [] : sectionChanges(live, target, live.ipIndex);
  const redefine = persistent && restartFields(config, target).length > 0;
  const configChanges = persistent && !redefine ? sectionChanges(config, target, config.ipIndex) : [];

  // Live and persistent definitions usually match, and one call with both flags changes both.
  if (JSON.stringify(liveChanges) === JSON.stringify(configChanges)) {
    await runSectionChanges(libvirt, ref, config.name, liveChanges, NetworkUpdateFlag.LIVE | NetworkUpdateFlag.CONFIG);
  } else {
    await runSectionChanges(libvirt, ref, config.name, liveChanges, NetworkUpdateFlag.LIVE);
    await runSectionChanges(libvirt, ref, config.name, configChanges, NetworkUpdateFlag.CONFIG);
  }

  if (redefine) {
    const xml = renderNetworkXml(target, { uuid: config.uuid, macAddress: config.macAddress });
    await step("redefine", config.name, () => libvirt.networkDefineXml(xml));
  }
}

async function runSectionChanges(libvirt: LibvirtClient, ref: NetworkRef, name: string, changes: SectionChange[], flags: number): Promise<void> {
  for (const change of changes) {
    await step("update", name, () => libvirt.networkUpdate(ref, { ...change, flags }));
  }
}

/** Redefines a running network and restarts it; restores and starts the previous definition when the new one fails to start. */
async function redefineAndRestart(libvirt: LibvirtClient, ref: NetworkRef, target: NetworkSpec, config: ParsedNetworkXml, configXml: string): Promise<void> {
  const xml = renderNetworkXml(target, { uuid: config.uuid, macAddress: config.macAddress });
  await step("redefine", config.name, () => libvirt.networkDefineXml(xml));
  await step("stop", config.name, () => libvirt.networkDestroy(ref));

  try {
    await step("start", config.name, () => libvirt.networkCreate(ref));
  } catch (error) {
    await libvirt.networkDefineXml(configXml);
    await libvirt.networkCreate(ref).catch(() => undefined);
    const reason = error instanceof Error ? error.message : String(error);
    throw new FailedPreconditionError(`${reason}; the previous definition was restored`, { cause: error });
  }
}
