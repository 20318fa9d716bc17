import { strict as assert } from "node:assert";

import { packageOf, summarizeCpuProfile, summarizeHeapProfile } from "./profile";

const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 9 });

describe("profile summary", () => {
  it("packageOf names scoped packages", () => {
    assert.equal(packageOf(frame("f", "file:///repo/node_modules/@grpc/grpc-js/build/src/server.js")), "@grpc/grpc-js");
  });

  it("packageOf names agent folders", () => {
    assert.equal(packageOf(frame("f", "file:///repo/server/dist/libvirt/connection.js")), "netagent server/libvirt");
    assert.equal(packageOf(frame("f", "file:///repo/server/dist/main.js")), "netagent server");
    assert.equal(packageOf(frame("f", "file:///repo/proto/dist/gen/netagent/v1/network.js")), "netagent proto/gen");
  });

  it("packageOf keeps V8 pseudo-nodes", () => {
    assert.equal(packageOf(frame("(garbage collector)", "")), "(garbage collector)");
    assert.equal(packageOf(frame("f", "node:internal/streams/writable")), "node: (Node.js core)");
  });

  it("cpu summary leaves idle out of busy", () => {
    const summary = summarizeCpuProfile({
      startTime: 0,
      endTime: 10_000,
      nodes: [
        { id: 1, callFrame: frame("(idle)", "") },
        { id: 2, callFrame: frame("parse", "file:///r/node_modules/fast-xml-parser/src/x.js") },
        { id: 3, callFrame: frame("write", "file:///r/node_modules/pino/pino.js") },
      ],
      samples: [1, 1, 1, 1, 1, 1, 2, 2, 2, 3],
    });
    assert.equal(summary.total, 10);
    assert.equal(summary.busy, 4);
    assert.deepEqual(
      summary.byPackage.map((row) => [row.name, row.amount, row.share]),
      [
        ["fast-xml-parser", 3, 0.75],
        ["pino", 1, 0.25],
      ],
    );
  });

  it("cpu summary charges core time to the caller", () => {
    const summary = summarizeCpuProfile({
      startTime: 0,
      endTime: 4_000,
      nodes: [
        { id: 1, callFrame: frame("(root)", ""), children: [2, 4] },
        { id: 2, callFrame: frame("call", "file:///r/server/dist/libvirt/connection.js"), children: [3] },
        { id: 3, callFrame: frame("writeBuffer", "") },
        { id: 4, callFrame: frame("onStreamRead", "node:internal/stream_base_commons") },
      ],
      samples: [3, 3, 2, 4],
    });
    assert.deepEqual(
      summary.byCaller.map((row) => [row.name, row.amount]),
      [
        ["netagent server/libvirt", 3],
        ["node: (Node.js core)", 1],
      ],
    );
    assert.deepEqual(
      summary.callersOf["writeBuffer [(native)]"].map((row) => [row.name, row.share]),
      [["netagent server/libvirt", 1]],
    );
  });

  it("cpu summary keeps samples in the window", () => {
    const summary = summarizeCpuProfile(
      {
        startTime: 1_000,
        endTime: 5_000,
        nodes: [
          { id: 1, callFrame: frame("load", "node:internal/modules/cjs/loader") },
          { id: 2, callFrame: frame("call", "file:///r/server/dist/libvirt/connection.js") },
        ],
        samples: [1, 1, 2, 2],
        timeDeltas: [1_000, 1_000, 1_000, 1_000],
      },
      { startUs: 3_500, endUs: 5_000 },
    );
    assert.equal(summary.total, 1.5);
    assert.deepEqual(
      summary.byPackage.map((row) => row.name),
      ["netagent server/libvirt"],
    );
  });

  it("heap summary adds self sizes", () => {
    const summary = summarizeHeapProfile({
      head: {
        callFrame: frame("(root)", ""),
        selfSize: 0,
        children: [
          { callFrame: frame("parse", "file:///r/node_modules/fast-xml-parser/a.js"), selfSize: 300, children: [] },
          { callFrame: frame("read", "file:///r/server/dist/libvirt/xdr.js"), selfSize: 100, children: [] },
        ],
      },
    });
    assert.equal(summary.total, 400);
    assert.equal(summary.byPackage[0].name, "fast-xml-parser");
    assert.equal(summary.byPackage[0].share, 0.75);
  });
});
