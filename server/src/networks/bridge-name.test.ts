import assert from "node:assert/strict";

import { generateBridgeName } from "./bridge-name";

describe("generateBridgeName", () => {
  it("prefixes short names", () => {
    assert.equal(generateBridgeName("lab"), "na-lab");
    assert.equal(generateBridgeName("abcdefghijkl"), "na-abcdefghijkl");
  });

  it("shortens long names to 15 bytes with a hash", () => {
    const first = generateBridgeName("production-frontend-a");
    const second = generateBridgeName("production-frontend-b");

    assert.equal(first.length, 15);
    assert.equal(second.length, 15);
    assert.notEqual(first, second);
    assert.match(first, /^na-product-[0-9a-f]{4}$/);
  });
});
