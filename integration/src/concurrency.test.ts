import assert from "node:assert/strict";

import { NetAgentClient, NetAgentError, NetworkType, Status } from "@netagent/client";

import { clientFor, RunningAgent, startAgent } from "./agent";
import { interfaceIpv4 } from "./host-state";
import { Sandbox, startSandbox } from "./sandbox";

/** What one call reported: OK with the network's UUID, or the status code. */
type Outcome = { ok: true; uuid: string } | { ok: false; code: Status; details: string };

interface Call {
  kind: "create" | "delete";
  name: string;
  /** The requested subnet, or "pool" to have the agent allocate one. */
  subnet: string;
  outcome?: Outcome;
}

async function outcomeOf(call: Promise<{ network?: { uuid: string } }>): Promise<Outcome> {
  try {
    const response = await call;
    return { ok: true, uuid: response.network?.uuid ?? "" };
  } catch (error) {
    assert.ok(error instanceof NetAgentError, `expected NetAgentError, got ${String(error)}`);
    return { ok: false, code: error.code, details: error.details };
  }
}

function describeCall(call: Call): string {
  const outcome = call.outcome?.ok ? "OK" : `${Status[call.outcome?.code ?? Status.UNKNOWN]}: ${call.outcome?.details}`;
  return `${call.kind} ${call.name} ${call.subnet}: ${outcome}`;
}

describe("concurrent calls on a real libvirtd", function () {
  this.timeout(300_000);

  let sandbox: Sandbox;
  let agent: RunningAgent;
  let client: NetAgentClient;

  before(async () => {
    sandbox = await startSandbox({ name: "concurrency" });
    agent = await startAgent(sandbox);
    client = clientFor(agent);
  });

  after(async () => {
    client?.close();
    await agent?.stop();
    await sandbox?.stop();
  });

  it("50 creates and deletes end as reported", async () => {
    const calls: Call[] = [];
    // 8 distinct names with distinct subnets: all succeed.
    for (let i = 0; i < 8; i++) {
      calls.push({ kind: "create", name: `distinct-${i}`, subnet: `10.81.${i}.0/24` });
    }
    // 8 distinct names without a subnet: all succeed, each with its own subnet from the pool.
    for (let i = 0; i < 8; i++) {
      calls.push({ kind: "create", name: `pooled-${i}`, subnet: "pool" });
    }
    // 6 names created twice with the same spec: both calls succeed with one network.
    for (let i = 0; i < 6; i++) {
      calls.push({ kind: "create", name: `twice-${i}`, subnet: `10.82.${i}.0/24` });
      calls.push({ kind: "create", name: `twice-${i}`, subnet: `10.82.${i}.0/24` });
    }
    // 5 pairs of names that share a subnet: libvirt can run only one of each pair.
    for (let i = 0; i < 5; i++) {
      calls.push({ kind: "create", name: `shared-${i}-a`, subnet: `10.83.${i}.0/24` });
      calls.push({ kind: "create", name: `shared-${i}-b`, subnet: `10.83.${i}.0/24` });
    }
    // 6 names created and deleted at once: either order may win.
    for (let i = 0; i < 6; i++) {
      calls.push({ kind: "create", name: `raced-${i}`, subnet: `10.84.${i}.0/24` });
      calls.push({ kind: "delete", name: `raced-${i}`, subnet: `10.84.${i}.0/24` });
    }
    assert.equal(calls.length, 50);

    await Promise.all(
      calls.map(async (call) => {
        const [prefix] = call.subnet.split(".0/");
        const ipv4 = call.subnet === "pool" ? undefined : { address: `${prefix}.1/24`, dhcpRanges: [] };
        if (call.kind === "create") {
          call.outcome = await outcomeOf(
            client.networks.createNetwork({ network: { name: call.name, type: NetworkType.NETWORK_TYPE_ISOLATED, ipv4 } }),
          );
        } else {
          call.outcome = await outcomeOf(client.networks.deleteNetwork({ name: call.name }).then(() => ({})));
        }
      }),
    );
    const report = calls.map(describeCall).join("\n");

    // Every call reports success or a status that names the reason; none is a server fault.
    for (const call of calls) {
      if (!call.outcome?.ok) {
        assert.ok(
          call.outcome?.code === Status.FAILED_PRECONDITION || call.outcome?.code === Status.NOT_FOUND,
          `unexpected outcome: ${describeCall(call)}\n${report}`,
        );
      }
    }

    // The names that must exist follow from what the calls reported.
    const expected = new Set<string>();
    const creates = (name: string) => calls.filter((c) => c.kind === "create" && c.name === name);
    for (let i = 0; i < 8; i++) {
      assert.ok(creates(`distinct-${i}`)[0].outcome?.ok, report);
      expected.add(`distinct-${i}`);
      assert.ok(creates(`pooled-${i}`)[0].outcome?.ok, report);
      expected.add(`pooled-${i}`);
    }
    for (let i = 0; i < 6; i++) {
      const [first, second] = creates(`twice-${i}`);
      assert.ok(first.outcome?.ok, report);
      assert.ok(second.outcome?.ok, report);
      assert.equal(first.outcome.uuid, second.outcome.uuid, `twice-${i}: one network for both calls`);
      expected.add(`twice-${i}`);
    }
    for (let i = 0; i < 5; i++) {
      const [a, b] = [creates(`shared-${i}-a`)[0], creates(`shared-${i}-b`)[0]];
      assert.equal([a, b].filter((c) => c.outcome?.ok).length, 1, `exactly one of shared-${i}-a and -b succeeds\n${report}`);
      expected.add(a.outcome?.ok ? a.name : b.name);
    }
    for (let i = 0; i < 6; i++) {
      const create = creates(`raced-${i}`)[0];
      const deletion = calls.find((c) => c.kind === "delete" && c.name === `raced-${i}`)!;
      assert.ok(create.outcome?.ok, report);
      // NOT_FOUND means the delete ran first, so the network the create made must remain.
      if (!deletion.outcome?.ok) {
        expected.add(create.name);
      }
    }

    const listed = new Map<string, { uuid: string; subnet: string }>();
    let pageToken = "";
    do {
      const page = await client.networks.listNetworks({ pageToken });
      for (const network of page.networks) {
        listed.set(network.name, { uuid: network.uuid, subnet: network.ipv4?.address ?? "" });
      }
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    const virshNames = (await sandbox.virsh(["net-list", "--all", "--name"])).split("\n").filter((n) => n.trim() !== "");

    assert.deepEqual([...listed.keys()].sort(), [...expected].sort(), report);
    assert.deepEqual(virshNames.sort(), [...expected].sort(), "libvirt agrees with the agent's list");
    for (const call of calls) {
      if (call.kind === "create" && call.outcome?.ok && expected.has(call.name)) {
        assert.equal(listed.get(call.name)?.uuid, call.outcome.uuid, `${call.name}: the listed network is the one the create returned`);
      }
    }

    // No subnet is in use twice, neither in the list nor on the sandbox's bridges.
    const subnets = [...listed.values()].map((n) => n.subnet);
    assert.equal(new Set(subnets).size, subnets.length, `a subnet appears twice: ${subnets.sort().join(", ")}`);
    const addresses: string[] = [];
    for (const name of expected) {
      addresses.push(...((await interfaceIpv4(sandbox, `na-${name}`)) ?? []));
    }
    assert.equal(addresses.length, expected.size, `every network has its bridge address: ${addresses.join(", ")}`);
    assert.equal(new Set(addresses).size, addresses.length, `an address is on two bridges: ${addresses.sort().join(", ")}`);
  });
});
