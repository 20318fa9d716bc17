import assert from "node:assert/strict";

import { EventSource, InterfaceEventType, NetworkEventType, ResyncReason, WatchEventsResponse } from "@netagent/proto";

import type { Network } from "../networks/model";
import { eventToProto } from "./event-service";

const TIME = new Date("2024-05-01T10:00:00Z");

const LAB: Network = {
  name: "lab",
  uuid: "5c0f0000-0000-0000-0000-000000000001",
  type: "nat",
  bridge: "na-lab",
  ipv4: { address: "10.77.0.1", prefixLength: 24, dhcpRanges: [], dhcpHosts: [] },
  mtu: 0,
  autostart: true,
  active: true,
  persistent: true,
  connectivity: { hostReachesGuests: true, guestsReachOutside: true, dhcpSource: "none" },
};

describe("eventToProto", () => {
  it("maps a network event with its network", () => {
    const message = eventToProto({
      kind: "network",
      time: TIME,
      change: { type: "updated", name: "lab", uuid: LAB.uuid, network: LAB, source: "agent" },
    });

    const event = message.event;
    assert.equal(message.observeTime, TIME);
    assert.equal(event?.$case, "network");
    assert.equal(event.value.type, NetworkEventType.NETWORK_EVENT_TYPE_UPDATED);
    assert.equal(event.value.source, EventSource.EVENT_SOURCE_AGENT);
    assert.equal(event.value.uuid, LAB.uuid);
    assert.equal(event.value.network?.ipv4?.address, "10.77.0.1/24");
  });

  it("leaves the network unset when unknown", () => {
    const message = eventToProto({
      kind: "network",
      time: TIME,
      change: { type: "undefined", name: "gone", uuid: "", network: undefined, source: "resync" },
    });

    assert.equal(message.event?.$case, "network");
    assert.equal(message.event.value.network, undefined);
    assert.equal(message.event.value.source, EventSource.EVENT_SOURCE_RESYNC);
    // The message must survive the proto3 JSON mapping that netagentctl --json prints.
    assert.equal((WatchEventsResponse.toJSON(message) as { network: { name: string } }).network.name, "gone");
  });

  it("maps an interface event with unknown MAC", () => {
    const message = eventToProto({
      kind: "interface",
      time: TIME,
      change: { type: "detach-failed", domain: "guest", domainUuid: "u", alias: "net1", mac: undefined, network: undefined },
    });

    assert.equal(message.event?.$case, "interface");
    assert.deepEqual(message.event.value, {
      type: InterfaceEventType.INTERFACE_EVENT_TYPE_DETACH_FAILED,
      domain: "guest",
      domainUuid: "u",
      alias: "net1",
      macAddress: "",
      network: "",
    });
  });

  it("maps each resync reason", () => {
    const reasons = (["watch-started", "libvirt-reconnected", "events-dropped"] as const).map((reason) => {
      const message = eventToProto({ kind: "resync", time: TIME, reason, message: "m" });
      return message.event?.$case === "resync" ? message.event.value.reason : undefined;
    });

    assert.deepEqual(reasons, [
      ResyncReason.RESYNC_REASON_WATCH_STARTED,
      ResyncReason.RESYNC_REASON_LIBVIRT_RECONNECTED,
      ResyncReason.RESYNC_REASON_EVENTS_DROPPED,
    ]);
  });
});
