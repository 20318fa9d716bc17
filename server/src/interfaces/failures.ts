import { FailedPreconditionError, NotFoundError } from "../errors";
import { LibvirtError } from "../libvirt";
import { asDomainNotFound, ChosenViews, DomainState } from "./domain-views";
import type { ValidAttach } from "./validate";

/** libvirt's messages when a running domain has no PCI slot to hot-plug a device into. */
const NO_FREE_SLOT = /No more available PCI slots|does not support hotplugging/i;

/** Maps a failed attach call to the error the caller can act on. */
export function attachFailure(error: unknown, spec: ValidAttach, chosen: ChosenViews, state: DomainState): unknown {
  if (!(error instanceof LibvirtError)) {
    return error;
  }
  if (error.isNoNetwork()) {
    return new NotFoundError(`network '${spec.network}' not found`, { cause: error });
  }
  if (chosen.live && NO_FREE_SLOT.test(error.message)) {
    const alternative = state.persistent
      ? "attach it with live set to false and persistent set to true to add it to the persistent definition, where libvirt assigns a slot for the next boot"
      : "the domain is transient, so it gets the interface only when it is created again with the interface in its XML";
    return new FailedPreconditionError(
      `domain '${spec.domain}' has no free PCI slot to hot-plug an interface into (libvirt: ${error.message}); ${alternative}`,
      { cause: error },
    );
  }
  return stepFailure(error, "attach an interface to", spec.domain);
}

/** Runs one libvirt call of an operation on a domain and maps its libvirt error with stepFailure. */
export async function libvirtStep<T>(action: string, domain: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw stepFailure(error, action, domain);
  }
}

/**
 * Maps a libvirt error of a step: a vanished domain becomes NotFoundError,
 * any other libvirt error FailedPreconditionError with libvirt's reason.
 * Connection errors pass through unchanged.
 */
export function stepFailure(error: unknown, action: string, domain: string): unknown {
  const notFound = asDomainNotFound(error, domain);
  if (notFound !== error) {
    return notFound;
  }
  if (error instanceof LibvirtError) {
    return new FailedPreconditionError(`libvirt failed to ${action} domain '${domain}': ${error.message}`, { cause: error });
  }
  return error;
}
