import assert from "node:assert/strict";

import { EventServiceDefinition, WatchEventsResponse } from "@netagent/proto";

import { withEncodeOnce } from "./encode-once";

const MESSAGE: WatchEventsResponse = { observeTime: new Date("2024-05-01T10:00:00Z"), event: { $case: "resync", value: { reason: 1, message: "watching" } } };

describe("withEncodeOnce", () => {
  it("encodes one message object once", () => {
    const type = withEncodeOnce(EventServiceDefinition).methods.watchEvents.responseType;

    const first = type.encode(MESSAGE).finish();
    const second = type.encode(MESSAGE).finish();

    assert.equal(second, first);
  });

  it("encodes the same bytes as the message type", () => {
    const type = withEncodeOnce(EventServiceDefinition).methods.watchEvents.responseType;

    assert.deepEqual(type.encode(MESSAGE).finish(), WatchEventsResponse.encode(MESSAGE).finish());
  });
});
