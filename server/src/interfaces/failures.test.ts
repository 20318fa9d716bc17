import assert from "node:assert/strict";

import { FailedPreconditionError, NotFoundError } from "../errors";
import { ErrorCode, ErrorDomain, LibvirtConnectionError, LibvirtError } from "../libvirt";
import { attachFailure, stepFailure } from "./failures";
import { validateAttach } from "./validate";

const SPEC = validateAttach({ domain: "guest", network: "lab" });
const BOTH = { live: true, config: true };
const PERSISTENT = { running: true, persistent: true };

// libvirt 9.0 gives this message when a q35 guest has no free pcie-root-port left.
const NO_SLOT = new LibvirtError({ code: ErrorCode.INTERNAL_ERROR, domain: ErrorDomain.QEMU, message: "internal error: No more available PCI slots" });

describe("interface failures", () => {
  it("maps a missing PCI slot to FAILED_PRECONDITION", () => {
    const error = attachFailure(NO_SLOT, SPEC, BOTH, PERSISTENT);

    assert.ok(error instanceof FailedPreconditionError);
    assert.match(error.message, /^domain 'guest' has no free PCI slot to hot-plug an interface into \(libvirt: internal error: No more available PCI slots\)/);
    assert.match(error.message, /attach it with live set to false and persistent set to true/);
  });

  it("explains the slot error for transient domains", () => {
    const error = attachFailure(NO_SLOT, SPEC, { live: true, config: false }, { running: true, persistent: false });

    assert.ok(error instanceof FailedPreconditionError);
    assert.match(error.message, /the domain is transient/);
  });

  it("maps a bus without hot-plug the same way", () => {
    const noHotplug = new LibvirtError({ code: ErrorCode.INTERNAL_ERROR, domain: ErrorDomain.QEMU, message: "unable to execute QEMU command 'device_add': Bus 'pci.0' does not support hotplugging" });

    const error = attachFailure(noHotplug, SPEC, BOTH, PERSISTENT);

    assert.ok(error instanceof FailedPreconditionError);
    assert.match(error.message, /has no free PCI slot to hot-plug an interface into/);
  });

  it("maps a vanished network to NOT_FOUND", () => {
    const gone = new LibvirtError({ code: ErrorCode.NO_NETWORK, domain: ErrorDomain.NETWORK, message: "Network not found: no network with matching name 'lab'" });

    const error = attachFailure(gone, SPEC, BOTH, PERSISTENT);

    assert.ok(error instanceof NotFoundError);
    assert.equal(error.message, "network 'lab' not found");
  });

  it("passes other libvirt reasons on", () => {
    const other = new LibvirtError({ code: ErrorCode.CONFIG_UNSUPPORTED, domain: ErrorDomain.QEMU, message: "unsupported configuration: something" });

    const error = attachFailure(other, SPEC, BOTH, PERSISTENT);

    assert.ok(error instanceof FailedPreconditionError);
    assert.equal(error.message, "libvirt failed to attach an interface to domain 'guest': unsupported configuration: something");
  });

  it("maps a vanished domain to NOT_FOUND", () => {
    const gone = new LibvirtError({ code: ErrorCode.NO_DOMAIN, domain: ErrorDomain.QEMU, message: "Domain not found" });

    const error = stepFailure(gone, "attach an interface to", "guest");

    assert.ok(error instanceof NotFoundError);
    assert.equal(error.message, "domain 'guest' not found");
  });

  it("passes connection errors through", () => {
    const lost = new LibvirtConnectionError("connection lost");

    assert.equal(attachFailure(lost, SPEC, BOTH, PERSISTENT), lost);
    assert.equal(stepFailure(lost, "detach", "guest"), lost);
  });
});
