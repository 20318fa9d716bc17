import assert from "node:assert/strict";

import pino from "pino";

import { UnavailableError } from "../errors";
import type { NetworkManager } from "../networks/manager";
import { createMetricsRegistry } from "./registry";

describe("createMetricsRegistry", () => {
  it("reports a lost libvirt connection and no network series", async () => {
    const manager = { list: () => Promise.reject(new UnavailableError("libvirtd is not reachable")) } as unknown as NetworkManager;
    const registry = createMetricsRegistry({ manager, libvirtConnected: () => false, logger: pino({ level: "silent" }) });

    const text = await registry.metrics();

    assert.match(text, /^netagent_libvirt_connected 0$/m);
    assert.doesNotMatch(text, /^netagent_networks\{/m);
  });

  it("counts networks by type and state", async () => {
    const manager = {
      list: async () => [
        { type: "nat", active: true },
        { type: "nat", active: true },
        { type: "very-isolated", active: false },
      ],
    } as unknown as NetworkManager;
    const registry = createMetricsRegistry({ manager, libvirtConnected: () => true, logger: pino({ level: "silent" }) });

    const text = await registry.metrics();

    assert.match(text, /^netagent_libvirt_connected 1$/m);
    assert.match(text, /^netagent_networks\{type="nat",state="active"\} 2$/m);
    assert.match(text, /^netagent_networks\{type="very-isolated",state="inactive"\} 1$/m);
  });
});
