// Checks against a real libvirtd. Runs only where its socket exists, and
// changes nothing on the daemon: it lists and looks up networks.

import assert from "node:assert/strict";
import * as fs from "node:fs";

import { DEFAULT_SOCKET_PATH, LibvirtClient } from "./client";
import { LibvirtError } from "./errors";
import { ErrorCode, ErrorDomain } from "./protocol";
import { formatUuid } from "./structs";

describe("LibvirtClient against a real libvirtd", function () {
  let client: LibvirtClient | undefined;

  before(function () {
    if (!fs.existsSync(DEFAULT_SOCKET_PATH)) {
      this.skip();
    }
  });

  afterEach(async () => {
    await client?.close();
    client = undefined;
  });

  it("lists and looks up networks of test:///default", async () => {
    client = await LibvirtClient.connect({ uri: "test:///default" });

    const networks = await client.listAllNetworks();
    const network = await client.networkLookupByName("default");

    assert.ok(
      networks.some((n) => n.name === "default"),
      `"default" missing from ${networks.map((n) => n.name).join(", ")}`,
    );
    assert.equal(network.name, "default");
    assert.match(formatUuid(network.uuid), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(await client.networkIsActive(network), true);
    assert.match(await client.networkGetXmlDesc(network), /<name>default<\/name>/);
  });

  // The test driver reports a missing network from its own error domain,
  // VIR_FROM_TEST (12); the qemu:///system network driver uses VIR_FROM_NETWORK (19).
  const missingNetworkCases: Array<[string, number]> = [
    ["test:///default", ErrorDomain.TEST],
    ["qemu:///system", ErrorDomain.NETWORK],
  ];
  for (const [uri, domain] of missingNetworkCases) {
    it(`reports a missing network of ${uri} as LibvirtError 43`, async function () {
      try {
        client = await LibvirtClient.connect({ uri });
      } catch (error) {
        // A daemon built or configured without this driver rejects CONNECT_OPEN.
        if (error instanceof LibvirtError) {
          this.skip();
        }
        throw error;
      }

      const error = await client.networkLookupByName("netagent-no-such-network").then(
        () => assert.fail("the lookup of a missing network succeeded"),
        (rejection: unknown) => rejection,
      );

      assert.ok(error instanceof LibvirtError, `expected LibvirtError, got ${String(error)}`);
      assert.equal(error.code, ErrorCode.NO_NETWORK);
      assert.equal(error.domain, domain);
      assert.equal(error.message, "Network not found: no network with matching name 'netagent-no-such-network'");
      assert.ok(error.isNoNetwork());
      assert.equal(client.connected, true);
    });
  }
});
