import { strict as assert } from "node:assert";

import { median, quantile, summarize } from "./stats";

describe("stats", () => {
  it("quantile picks the nearest rank", () => {
    const sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    assert.equal(quantile(sorted, 0.5), 5);
    assert.equal(quantile(sorted, 0.9), 9);
    assert.equal(quantile(sorted, 0.99), 10);
    assert.equal(quantile(sorted, 0), 1);
  });

  it("quantile rejects no samples", () => {
    assert.throws(() => quantile([], 0.5), /empty/);
  });

  it("summarize sorts before ranking", () => {
    const summary = summarize([30, 10, 20, 40]);
    assert.equal(summary.count, 4);
    assert.equal(summary.mean, 25);
    assert.equal(summary.p50, 20);
    assert.equal(summary.p99, 40);
    assert.equal(summary.max, 40);
  });

  it("median of odd and even counts", () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
  });
});
