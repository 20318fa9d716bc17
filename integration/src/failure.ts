import assert from "node:assert/strict";

import { NetAgentError } from "@netagent/client";

/** Awaits a call that must fail and returns its NetAgentError. */
export async function failure(call: Promise<unknown>): Promise<NetAgentError> {
  try {
    await call;
  } catch (error) {
    assert.ok(error instanceof NetAgentError, `expected NetAgentError, got ${String(error)}`);
    return error;
  }
  assert.fail("expected the call to fail");
}
