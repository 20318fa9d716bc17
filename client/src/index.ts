// @netagent/client: the typed SDK for netagent's gRPC API.
export { createNetAgentClient, DEFAULT_ADDRESS, NetAgentCallOptions, NetAgentClient, NetAgentClientOptions } from "./client";
export { FieldViolation, NetAgentError } from "./errors";
export { WatchEventsOptions } from "./watch";
export { Status } from "nice-grpc";
export * from "@netagent/proto";
