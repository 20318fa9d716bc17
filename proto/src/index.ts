export * from "./gen/netagent/v1/network";
export * from "./gen/netagent/v1/network_service";
export * from "./gen/netagent/v1/host_service";
export * from "./descriptor-set";
