export * from "./gen/netagent/v1/network";
export * from "./gen/netagent/v1/network_service";
export * from "./gen/netagent/v1/host_service";
export * from "./gen/netagent/v1/event_service";
export * from "./descriptor-set";
export * from "./gen/netagent/v1/interface";
export * from "./gen/netagent/v1/interface_service";
