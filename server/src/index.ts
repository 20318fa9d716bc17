// Entry point for embedding the agent, for example in tests.
export { AgentConfig, loadConfig } from "./config";
export * from "./errors";
export { createAgentServer, listen } from "./grpc/server";
export { parseListenAddress } from "./grpc/listen-address";
export { InterfaceManager } from "./interfaces/manager";
export { LibvirtSession } from "./libvirt/session";
export { NetworkManager } from "./networks/manager";
