import assert from "node:assert/strict";

import { HealthDefinition } from "nice-grpc-server-health";
import { ServerReflectionService } from "nice-grpc-server-reflection";

import { METHOD_ACCESS } from "./method-roles";
import { netagentServiceDefinitions } from "./services";

/** Full paths of every method of every ts-proto service definition that @netagent/proto exports. */
function netagentMethodPaths(): string[] {
  return netagentServiceDefinitions().flatMap((definition) => Object.values(definition.methods).map((method) => `/${definition.fullName}/${method.name}`));
}

describe("METHOD_ACCESS", () => {
  it("finds the services of @netagent/proto", () => {
    assert.ok(netagentMethodPaths().includes("/netagent.v1.NetworkService/CreateNetwork"));
  });

  it("has a role for every method of @netagent/proto", () => {
    const missing = netagentMethodPaths().filter((path) => METHOD_ACCESS[path] === undefined);
    assert.deepEqual(missing, [], `add these methods to METHOD_ACCESS in method-roles.ts: ${missing.join(", ")}`);
  });

  it("has a role for every health and reflection method", () => {
    const paths = [
      ...Object.values(HealthDefinition.methods).map((method) => `/${HealthDefinition.fullName}/${method.name}`),
      ...Object.values(ServerReflectionService).map((method) => method.path),
    ];
    const missing = paths.filter((path) => METHOD_ACCESS[path] === undefined);
    assert.deepEqual(missing, []);
  });

  it("never lets anyone change networks", () => {
    const open = Object.entries(METHOD_ACCESS).filter(([path, access]) => access.role === "anyone" && !path.startsWith("/grpc.health.v1."));
    assert.deepEqual(open, []);
  });

  it("needs operator for every method that changes a network", () => {
    for (const [path, access] of Object.entries(METHOD_ACCESS)) {
      if (access.changesNetwork) {
        assert.ok(access.role === "operator" || access.role === "admin", `${path} changes networks but needs only ${access.role}`);
      }
    }
  });
});
