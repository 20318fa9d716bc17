// Client for libvirtd's RPC protocol, spoken directly over its UNIX socket
// without libvirt.so.

export { DEFAULT_SOCKET_PATH, DEFAULT_URI, LibvirtClient, LibvirtClientOptions } from "./client";
export { CallOptions, LibvirtConnection, LibvirtConnectionOptions } from "./connection";
export {
  ConnectionErrorReason,
  isLibvirtConnectionError,
  isLibvirtError,
  isLibvirtTimeoutError,
  LibvirtConnectionError,
  LibvirtError,
  LibvirtErrorInit,
  LibvirtTimeoutError,
  RemoteErrorFields,
} from "./errors";
export { LibvirtLogger } from "./logger";
export * from "./protocol";
export {
  DhcpLease,
  DomainInterfaceAddresses,
  DomainIpAddress,
  DomainRef,
  formatUuid,
  NetworkRef,
  parseUuid,
  readDhcpLease,
  readDomainInterfaceAddresses,
  readDomainRef,
  readNetworkRef,
  readRemoteError,
  writeDhcpLease,
  writeDomainRef,
  writeNetworkRef,
} from "./structs";
export { MessageListener, MessageSubscription, SubscribeOptions } from "./subscriptions";
export { REMOTE_STRING_MAX, XdrError, XdrReader, XdrWriter } from "./xdr";
export { listAllDomains, domainGetXmlDesc, ListDomainsFlag } from "./domains";
export {
  DomainDeviceMessage,
  DomainDeviceEventKind,
  DomainLifecycleMessage,
  EventListener,
  EventRegistration,
  NetworkLifecycleMessage,
  registerDomainDeviceEvents,
  registerDomainLifecycleEvents,
  registerNetworkLifecycleEvents,
  RegisterOptions,
} from "./events";
