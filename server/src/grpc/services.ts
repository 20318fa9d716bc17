import * as proto from "@netagent/proto";

/** The parts of a ts-proto service definition that reflection and the role table need. */
export interface ServiceDefinitionSummary {
  fullName: string;
  methods: Record<string, { name: string }>;
}

/** Returns every service definition that @netagent/proto exports, such as NetworkServiceDefinition. */
export function netagentServiceDefinitions(): ServiceDefinitionSummary[] {
  return (Object.values(proto) as unknown[]).filter(
    (value): value is ServiceDefinitionSummary => typeof value === "object" && value !== null && "fullName" in value && "methods" in value,
  );
}
