import type { NetAgentClient } from "@netagent/client";

import type { BenchContext } from "./context";

/** Page size that returns up to 1,000 networks in one response, the agent's maximum. */
const PAGE_SIZE = 1000;

/** Bounds the wait for both agents to list every network just defined. */
const SETTLE_TIMEOUT_MS = 60_000;

/**
 * Lists through both agents until each returns `size` networks. An agent that
 * serves lists from a cache fed by libvirt's events may lag behind the
 * networks just defined. One that asks libvirtd passes on the first call.
 */
export async function waitUntilListed(context: BenchContext, size: number): Promise<void> {
  await waitForNetworkCount(context.agentClient, "the agent", size);
  await waitForNetworkCount(context.countedClient, "the counted agent", size);
}

/** Lists through one agent until it returns `size` networks, for at most 60 s. */
export async function waitForNetworkCount(client: NetAgentClient, label: string, size: number): Promise<void> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    const seen = (await client.networks.listNetworks({ pageSize: PAGE_SIZE })).networks.length;
    if (seen === size) {
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(`${label} listed ${seen} networks ${SETTLE_TIMEOUT_MS / 1000} s after ${size} were defined`);
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, 200));
  }
}
