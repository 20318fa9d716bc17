import { readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Path of the google.protobuf.FileDescriptorSet of netagent/v1/*.proto and
 * their imports, with comments, as `buf build -o proto/descriptor-set.binpb`
 * writes it (`npm run gen` runs both buf generate and that).
 */
export const DESCRIPTOR_SET_PATH = join(__dirname, "..", "descriptor-set.binpb");

/** Reads the descriptor set, for server reflection and for tools that need the schema at run time. */
export function readDescriptorSet(): Buffer {
  return readFileSync(DESCRIPTOR_SET_PATH);
}
