// @netagent/client: the typed SDK for netagent's gRPC API.
export {
  createNetAgentClient,
  DEFAULT_ADDRESS,
  NetAgentCallOptions,
  NetAgentClient,
  NetAgentClientOptions,
  NetAgentRetryOptions,
  NetAgentTlsOptions,
} from "./client";
export { FieldViolation, NetAgentError } from "./errors";
export { WatchEventsOptions } from "./watch";
export {
  createNetAgentFleet,
  DEFAULT_FLEET_CONCURRENCY,
  FleetCallContext,
  FleetFailure,
  FleetHost,
  FleetResult,
  FleetRunOptions,
  FleetSuccess,
  FleetTarget,
  NetAgentFleet,
  runOnFleet,
} from "./fleet";
export { Status } from "nice-grpc";
export * from "@netagent/proto";
