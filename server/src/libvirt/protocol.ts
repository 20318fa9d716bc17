// Numbers of libvirt's RPC protocol. Sources, all in the libvirt repository:
// src/rpc/virnetprotocol.x (framing, message types, statuses, limits),
// src/rpc/virkeepaliveprotocol.x, src/remote/remote_protocol.x (procedures,
// list limits, auth types), src/libvirt_internal.h (driver features),
// include/libvirt/virterror.h, libvirt-network.h and libvirt-domain.h
// (error codes, flags, event ids). These values are wire ABI and never change.

/** Program number of libvirt's remote driver protocol (REMOTE_PROGRAM). */
export const REMOTE_PROGRAM = 0x20008086;
export const REMOTE_PROTOCOL_VERSION = 1;

/** Program number of the keepalive protocol: "keep" in ASCII. */
export const KEEPALIVE_PROGRAM = 0x6b656570;
export const KEEPALIVE_PROTOCOL_VERSION = 1;

/** Procedures of the keepalive program. Both travel as type MESSAGE with an empty payload. */
export const KeepaliveProcedure = {
  PING: 1,
  PONG: 2,
} as const;

/** virNetMessageType: the `type` field of a packet header. */
export const MessageType = {
  CALL: 0,
  REPLY: 1,
  MESSAGE: 2,
  STREAM: 3,
  CALL_WITH_FDS: 4,
  REPLY_WITH_FDS: 5,
} as const;

/** virNetMessageStatus: the `status` field of a packet header. */
export const MessageStatus = {
  OK: 0,
  ERROR: 1,
  CONTINUE: 2,
} as const;

/** Size in bytes of the length word that starts every packet. */
export const LENGTH_WORD_SIZE = 4;

/** Size in bytes of the packet header (VIR_NET_MESSAGE_HEADER_MAX): six 4-byte fields. */
export const HEADER_SIZE = 24;

/** Smallest valid value of the length word: the length word itself plus the header. */
export const MIN_PACKET_LENGTH = LENGTH_WORD_SIZE + HEADER_SIZE;

/** Maximum packet size in bytes without the length word (VIR_NET_MESSAGE_MAX). */
export const MESSAGE_MAX = 16 * 1024 * 1024;

/** Largest valid value of the length word, which counts itself. */
export const MAX_PACKET_LENGTH = MESSAGE_MAX + LENGTH_WORD_SIZE;

/** Length in bytes of a raw UUID (VIR_UUID_BUFLEN). */
export const UUID_LENGTH = 16;

/** Maximum item counts of arrays in remote_protocol.x. */
export const ListLimit = {
  AUTH_TYPES: 20,
  NETWORKS: 16384,
  DOMAINS: 16384,
  NETWORK_DHCP_LEASES: 65536,
  DOMAIN_INTERFACES: 2048,
  DOMAIN_IP_ADDRESSES: 2048,
} as const;

/** remote_auth_type: authentication schemes that AUTH_LIST returns. */
export const AuthType = {
  NONE: 0,
  SASL: 1,
  POLKIT: 2,
} as const;

/** Procedures of the remote program (remote_procedure, without the REMOTE_PROC_ prefix). */
export const RemoteProcedure = {
  CONNECT_OPEN: 1,
  CONNECT_CLOSE: 2,
  DOMAIN_GET_XML_DESC: 14,
  DOMAIN_LOOKUP_BY_NAME: 23,
  DOMAIN_LOOKUP_BY_UUID: 24,
  NETWORK_CREATE: 39,
  NETWORK_CREATE_XML: 40,
  NETWORK_DEFINE_XML: 41,
  NETWORK_DESTROY: 42,
  NETWORK_GET_XML_DESC: 43,
  NETWORK_GET_AUTOSTART: 44,
  NETWORK_LOOKUP_BY_NAME: 46,
  NETWORK_LOOKUP_BY_UUID: 47,
  NETWORK_SET_AUTOSTART: 48,
  NETWORK_UNDEFINE: 49,
  CONNECT_GET_HOSTNAME: 59,
  CONNECT_SUPPORTS_FEATURE: 60,
  AUTH_LIST: 66,
  AUTH_POLKIT: 70,
  DOMAIN_IS_ACTIVE: 150,
  DOMAIN_IS_PERSISTENT: 151,
  NETWORK_IS_ACTIVE: 152,
  NETWORK_IS_PERSISTENT: 153,
  CONNECT_GET_LIB_VERSION: 157,
  DOMAIN_ATTACH_DEVICE_FLAGS: 160,
  DOMAIN_DETACH_DEVICE_FLAGS: 161,
  DOMAIN_UPDATE_DEVICE_FLAGS: 174,
  CONNECT_LIST_ALL_DOMAINS: 273,
  CONNECT_LIST_ALL_NETWORKS: 283,
  NETWORK_UPDATE: 291,
  CONNECT_NETWORK_EVENT_REGISTER_ANY: 313,
  CONNECT_NETWORK_EVENT_DEREGISTER_ANY: 314,
  NETWORK_EVENT_LIFECYCLE: 315,
  CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY: 316,
  CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY: 317,
  DOMAIN_EVENT_CALLBACK_LIFECYCLE: 318,
  DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED: 333,
  NETWORK_GET_DHCP_LEASES: 341,
  DOMAIN_INTERFACE_ADDRESSES: 353,
  DOMAIN_EVENT_CALLBACK_DEVICE_ADDED: 354,
  DOMAIN_EVENT_CALLBACK_DEVICE_REMOVAL_FAILED: 367,
  // go-libvirt's remote_protocol.gen.go, generated from remote_protocol.x, lists
  // 392 as REMOTE_PROC_DOMAIN_DETACH_DEVICE_ALIAS, and libvirtd 9.0 detaches a
  // device by its alias through it.
  DOMAIN_DETACH_DEVICE_ALIAS: 392,
} as const;

/** Driver features that CONNECT_SUPPORTS_FEATURE takes (VIR_DRV_FEATURE_*). */
export const DriverFeature = {
  /** The daemon speaks the keepalive program. Asking for it before CONNECT_OPEN also turns on the daemon's PINGs. */
  PROGRAM_KEEPALIVE: 10,
  REMOTE_EVENT_CALLBACK: 14,
  REMOTE_CLOSE_CALLBACK: 15,
  /**
   * NETWORK_UPDATE takes command before section. When 0, the daemon expects them swapped.
   * NOTE: the copy of libvirt_internal.h checked ends at 15. libvirtd 9.0 returns 1 for 16.
   */
  NETWORK_UPDATE_HAS_CORRECT_ORDER: 16,
} as const;

/** virErrorLevel. */
export const ErrorLevel = {
  NONE: 0,
  WARNING: 1,
  ERROR: 2,
} as const;

/** virErrorNumber values that the agent handles (VIR_ERR_*). */
export const ErrorCode = {
  INTERNAL_ERROR: 1,
  NO_SUPPORT: 3,
  INVALID_ARG: 8,
  OPERATION_FAILED: 9,
  XML_ERROR: 27,
  OPERATION_DENIED: 29,
  XML_DETAIL: 35,
  INVALID_NETWORK: 36,
  NETWORK_EXIST: 37,
  SYSTEM_ERROR: 38,
  RPC: 39,
  NO_DOMAIN: 42,
  NO_NETWORK: 43,
  AUTH_FAILED: 45,
  OPERATION_INVALID: 55,
  CONFIG_UNSUPPORTED: 67,
  OPERATION_TIMEOUT: 68,
  OPERATION_UNSUPPORTED: 84,
  XML_INVALID_SCHEMA: 92,
  DEVICE_MISSING: 99,
} as const;

/** virErrorDomain values: the part of libvirt that raised an error (VIR_FROM_*). */
export const ErrorDomain = {
  RPC: 7,
  QEMU: 10,
  /** The test driver (test:///default) reports its errors, "network not found" included, from here. */
  TEST: 12,
  REMOTE: 13,
  NETWORK: 19,
  DOMAIN: 20,
} as const;

/**
 * virConnectListAllNetworksFlags. Each pair (ACTIVE and INACTIVE, for example) filters on one
 * property, and a pair with neither flag set does not filter, so 0 lists all networks.
 */
export const ListNetworksFlag = {
  INACTIVE: 1,
  ACTIVE: 2,
  PERSISTENT: 4,
  TRANSIENT: 8,
  AUTOSTART: 16,
  NO_AUTOSTART: 32,
} as const;

/** virNetworkXMLFlags for NETWORK_GET_XML_DESC. */
export const NetworkXmlFlag = {
  /** Return the persistent definition instead of the running one. */
  INACTIVE: 1,
} as const;

/** virDomainXMLFlags for DOMAIN_GET_XML_DESC. */
export const DomainXmlFlag = {
  SECURE: 1,
  INACTIVE: 2,
} as const;

/** virDomainDeviceModifyFlags for attaching, detaching and updating devices. */
export const DomainDeviceModifyFlag = {
  CURRENT: 0,
  LIVE: 1,
  CONFIG: 2,
  /** Only for DOMAIN_UPDATE_DEVICE_FLAGS. */
  FORCE: 4,
} as const;

/** virNetworkUpdateCommand. */
export const NetworkUpdateCommand = {
  MODIFY: 1,
  DELETE: 2,
  ADD_LAST: 3,
  ADD_FIRST: 4,
} as const;

/** virNetworkUpdateSection: the part of the network XML that NETWORK_UPDATE changes. */
export const NetworkUpdateSection = {
  BRIDGE: 1,
  DOMAIN: 2,
  IP: 3,
  IP_DHCP_HOST: 4,
  IP_DHCP_RANGE: 5,
  FORWARD: 6,
  FORWARD_INTERFACE: 7,
  FORWARD_PF: 8,
  PORTGROUP: 9,
  DNS_HOST: 10,
  DNS_TXT: 11,
  DNS_SRV: 12,
} as const;

/** virNetworkUpdateFlags. */
export const NetworkUpdateFlag = {
  CURRENT: 0,
  LIVE: 1,
  CONFIG: 2,
} as const;

/** virDomainInterfaceAddressesSource for DOMAIN_INTERFACE_ADDRESSES. */
export const InterfaceAddressesSource = {
  LEASE: 0,
  AGENT: 1,
  ARP: 2,
} as const;

/** virIPAddrType, used by DHCP leases and interface addresses. */
export const IpAddressType = {
  IPV4: 0,
  IPV6: 1,
} as const;

/** virNetworkEventID for CONNECT_NETWORK_EVENT_REGISTER_ANY. */
export const NetworkEventId = {
  LIFECYCLE: 0,
} as const;

/** virNetworkEventLifecycleType: the `event` field of NETWORK_EVENT_LIFECYCLE. */
export const NetworkLifecycleEvent = {
  DEFINED: 0,
  UNDEFINED: 1,
  STARTED: 2,
  STOPPED: 3,
} as const;

/** virDomainEventID values for CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY. */
export const DomainEventId = {
  LIFECYCLE: 0,
  DEVICE_REMOVED: 15,
  DEVICE_ADDED: 19,
  DEVICE_REMOVAL_FAILED: 22,
} as const;

/** virDomainEventType: the `event` field of DOMAIN_EVENT_CALLBACK_LIFECYCLE. */
export const DomainLifecycleEvent = {
  DEFINED: 0,
  UNDEFINED: 1,
  STARTED: 2,
  SUSPENDED: 3,
  RESUMED: 4,
  STOPPED: 5,
  SHUTDOWN: 6,
  PMSUSPENDED: 7,
  CRASHED: 8,
} as const;
