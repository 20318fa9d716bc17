import assert from "node:assert/strict";

import { boundForLog } from "./call-log";

describe("boundForLog", () => {
  it("keeps short values whole", () => {
    assert.equal(boundForLog("lab"), "lab");
    assert.equal(boundForLog(undefined), undefined);
  });

  it("cuts long values and gives their length", () => {
    const bounded = boundForLog("x".repeat(3_000_000));

    assert.equal(bounded, `${"x".repeat(256)}... (3000000 characters)`);
  });
});
