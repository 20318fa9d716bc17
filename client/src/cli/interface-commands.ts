import { Command, Option } from "commander";

import {
  AttachInterfaceResponse,
  DetachInterfaceResponse,
  Interface,
  LinkState,
} from "@netagent/proto";

import type { NetAgentClient } from "../client";
import { detachSummary, interfaceDetails, interfaceSelector, interfaceTable, parseLinkState } from "./interface-format";

/** Helpers of the CLI's main module that the interface commands use. */
export interface CommandContext {
  /** Runs an action with a connected client and turns its failure into an exit code. */
  run(action: (agent: NetAgentClient) => Promise<void>): Promise<void>;
  /** Writes a line to stdout. */
  print(text: string): void;
  /** Writes a warning line to stderr. */
  warn(text: string): void;
  /** Whether --json was given. */
  json(): boolean;
  /** The deadline of each call from --timeout, in milliseconds. */
  timeoutMs(): number;
}

/** The agent's wait for a detach when --wait is not given. */
const DEFAULT_WAIT_SECONDS = 10;

/** Time a detach call gets beyond the agent's wait, for the libvirt calls before and after it. */
const DEADLINE_MARGIN_MS = 20_000;

interface ViewOptions {
  live?: boolean;
  persistent?: boolean;
}

/** Adds `interface attach|detach|list|set-link` to the program. */
export function addInterfaceCommands(program: Command, context: CommandContext): void {
  const command = program.command("interface").description("attach guests to networks, detach them, list them and set their link");

  const printInterface = (guestInterface: Interface | undefined) => {
    if (guestInterface !== undefined) {
      context.print(context.json() ? JSON.stringify(Interface.toJSON(guestInterface), null, 2) : interfaceDetails(guestInterface));
    }
  };

  withViewOptions(
    command
      .command("attach <domain> <network>")
      .description("add an interface on <network> to libvirt domain <domain>")
      .option("--mac <address>", "MAC address, e.g. 52:54:00:12:34:56 (generated in 52:54:00 when omitted)")
      .option("--model <model>", "device model the guest sees (default virtio)")
      .addOption(new Option("--link <state>", "initial link state").choices(["up", "down"])),
  ).action((domain: string, network: string, options: ViewOptions & { mac?: string; model?: string; link?: string }) =>
    context.run(async (agent) => {
      const response = await agent.interfaces.attachInterface({
        domain,
        network,
        macAddress: options.mac ?? "",
        model: options.model ?? "",
        live: options.live,
        persistent: options.persistent,
        linkState: options.link ? parseLinkState(options.link) : LinkState.LINK_STATE_UNSPECIFIED,
      });
      if (context.json()) {
        context.print(JSON.stringify(AttachInterfaceResponse.toJSON(response), null, 2));
        return;
      }
      printInterface(response.interface);
      for (const warning of response.warnings) {
        context.warn(warning);
      }
    }),
  );

  withViewOptions(
    command
      .command("detach <domain> <interface>")
      .description("remove an interface, given by MAC address or alias, from libvirt domain <domain>")
      .option("--wait <seconds>", "how long to wait for the guest to release the device (default 10, at most 300)"),
  ).action((domain: string, selectorText: string, options: ViewOptions & { wait?: string }) =>
    context.run(async (agent) => {
      const waitSeconds = parseWait(options.wait);
      // The call must outlive the agent's wait, or it ends in DEADLINE_EXCEEDED instead of "pending".
      const deadlineMs = Math.max(context.timeoutMs(), (waitSeconds || DEFAULT_WAIT_SECONDS) * 1000 + DEADLINE_MARGIN_MS);
      const response = await agent.interfaces.detachInterface(
        { domain, ...interfaceSelector(selectorText), live: options.live, persistent: options.persistent, timeoutSeconds: waitSeconds },
        { deadline: new Date(Date.now() + deadlineMs) },
      );
      context.print(
        context.json() ? JSON.stringify(DetachInterfaceResponse.toJSON(response), null, 2) : detachSummary(response.state, domain, selectorText, options.live !== false),
      );
    }),
  );

  command
    .command("list [domain]")
    .description("list the interfaces of one domain, or of every domain")
    .option("--network <name>", "only interfaces on this libvirt network")
    .action((domain: string | undefined, options: { network?: string }) =>
      context.run(async (agent) => {
        const response = await agent.interfaces.listInterfaces({ domain: domain ?? "", network: options.network ?? "" });
        if (context.json()) {
          context.print(JSON.stringify(response.interfaces.map((i) => Interface.toJSON(i)), null, 2));
        } else {
          context.print(interfaceTable(response.interfaces));
        }
      }),
    );

  withViewOptions(
    command
      .command("set-link <domain> <interface> <state>")
      .description("set the link of an interface, given by MAC address or alias, to up or down without detaching it"),
  ).action((domain: string, selectorText: string, state: string, options: ViewOptions) =>
    context.run(async (agent) => {
      const response = await agent.interfaces.updateInterface({
        domain,
        ...interfaceSelector(selectorText),
        linkState: parseLinkState(state),
        live: options.live,
        persistent: options.persistent,
      });
      printInterface(response.interface);
    }),
  );
}

/**
 * Adds --live/--no-live and --persistent/--no-persistent. Commander leaves
 * the value undefined when neither form is given, which the agent reads as
 * "the views the domain has".
 */
function withViewOptions(command: Command): Command {
  return command
    .option("--live", "change the running domain (default: when it runs)")
    .option("--no-live", "leave the running domain unchanged")
    .option("--persistent", "change the persistent definition (default: when the domain has one)")
    .option("--no-persistent", "leave the persistent definition unchanged");
}

function parseWait(text: string | undefined): number {
  if (text === undefined) {
    return 0;
  }
  const seconds = Number(text);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 300) {
    throw new Error(`invalid --wait ${JSON.stringify(text)}: use a whole number of seconds from 1 to 300`);
  }
  return seconds;
}
