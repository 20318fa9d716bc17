import assert from "node:assert/strict";

import { ProtectedNetworks } from "./protection";

describe("ProtectedNetworks", () => {
  const networks = new ProtectedNetworks(["default", "mgmt-*", "storage-[0-9]", "{infra,ops}.lan"]);

  it("matches an exact name", () => {
    assert.equal(networks.ruleFor("default"), "default");
  });

  it("matches a star pattern", () => {
    assert.equal(networks.ruleFor("mgmt-eth0"), "mgmt-*");
  });

  it("matches a character class", () => {
    assert.equal(networks.ruleFor("storage-7"), "storage-[0-9]");
  });

  it("matches brace alternatives", () => {
    assert.equal(networks.ruleFor("ops.lan"), "{infra,ops}.lan");
  });

  it("matches the whole name only", () => {
    assert.equal(networks.ruleFor("default2"), undefined);
    assert.equal(networks.ruleFor("my-mgmt-net"), undefined);
  });

  it("matches names that start with a dot", () => {
    assert.equal(new ProtectedNetworks(["*"]).ruleFor(".hidden"), "*");
  });
});
