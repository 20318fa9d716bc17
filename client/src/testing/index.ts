// @netagent/client/testing: helpers for tests that run agents in containers. They need the optional
// peer dependency testcontainers, which the main entry point never loads.
export { DEFAULT_AGENT_IMAGE, NetAgentContainerOptions, startNetAgentContainer, StartedNetAgentContainer } from "./container";
export { waitForAgentServing, WaitForServingOptions } from "./serving";
