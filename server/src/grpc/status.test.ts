import assert from "node:assert/strict";

import { ServerError, Status } from "nice-grpc";
import { RichServerError } from "nice-grpc-error-details";

import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
  UnavailableError,
} from "../errors";
import { LibvirtConnectionError, LibvirtError } from "../libvirt";
import { MAX_STATUS_TEXT_LENGTH, toServerError } from "./status";

describe("toServerError", () => {
  it("maps invalid arguments to INVALID_ARGUMENT with field violations", () => {
    const error = toServerError(new InvalidArgumentError([{ field: "network.name", description: "missing" }]));

    assert.ok(error instanceof RichServerError);
    assert.equal(error.code, Status.INVALID_ARGUMENT);
    assert.equal(error.details, "network.name: missing");
    const violations = (error.extra[0] as { fieldViolations: Array<{ field: string; description: string }> }).fieldViolations;
    assert.deepEqual(violations.map(({ field, description }) => ({ field, description })), [{ field: "network.name", description: "missing" }]);
  });

  const table: Array<[Error, Status]> = [
    [new NotFoundError("network 'x' not found"), Status.NOT_FOUND],
    [new AlreadyExistsError("exists"), Status.ALREADY_EXISTS],
    [new FailedPreconditionError("in use"), Status.FAILED_PRECONDITION],
    [new ResourceExhaustedError("pool empty"), Status.RESOURCE_EXHAUSTED],
    [new UnavailableError("down"), Status.UNAVAILABLE],
    [new PermissionDeniedError("needs operator"), Status.PERMISSION_DENIED],
  ];
  for (const [domainError, status] of table) {
    it(`maps ${domainError.name} to ${Status[status]}`, () => {
      const error = toServerError(domainError);

      assert.equal(error.code, status);
      assert.ok(error.details.includes(domainError.message));
    });
  }

  it("maps a lost libvirt connection to UNAVAILABLE", () => {
    const error = toServerError(new LibvirtConnectionError("connection to libvirtd closed"));

    assert.equal(error.code, Status.UNAVAILABLE);
    assert.equal(error.details, "libvirtd is unavailable: connection to libvirtd closed");
  });

  it("keeps an UnavailableError's own text", () => {
    assert.equal(toServerError(new UnavailableError("the agent is shutting down")).details, "the agent is shutting down");
  });

  it("hides unexpected errors behind a generic INTERNAL and keeps the cause", () => {
    const cause = new LibvirtError({ code: 1, domain: 19, level: 2, message: "secret detail" });
    const error = toServerError(cause);

    assert.equal(error.code, Status.INTERNAL);
    assert.doesNotMatch(error.details, /secret detail/);
    assert.equal((error as ServerError & { cause?: unknown }).cause, cause);
  });

  it("bounds huge messages and descriptions", () => {
    const huge = "\u0001".repeat(3_000_000);
    const error = toServerError(new InvalidArgumentError([{ field: "domain", description: `invalid value ${JSON.stringify(huge)}` }]));
    const violations = (error as RichServerError).extra[0] as { fieldViolations: Array<{ description: string }> };

    assert.ok(error.details.length <= MAX_STATUS_TEXT_LENGTH, `message has ${error.details.length} characters`);
    assert.ok(violations.fieldViolations[0].description.length <= MAX_STATUS_TEXT_LENGTH);
    assert.match(violations.fieldViolations[0].description, /\.\.\. \(18000016 characters\)$/);
  });

  it("passes ServerError through unchanged", () => {
    const original = new ServerError(Status.CANCELLED, "cancelled");

    assert.equal(toServerError(original), original);
  });
});
