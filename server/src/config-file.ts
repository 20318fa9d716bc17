import { readFileSync } from "node:fs";

import { parseDocument } from "yaml";

import { AccountFiles, resolveGroup, resolveUser } from "./auth/accounts";
import { IdentityRule, Role, ROLES } from "./auth/roles";

/** The configuration file's contents: scalar options by name, plus the lists only the file can hold. */
export interface ConfigFile {
  path: string;
  /** Options that flags and environment variables can also set, by flag name. */
  options: Map<string, string | boolean>;
  identities?: IdentityRule[];
  protectedNetworks?: string[];
}

/** Prefixes of the subject alternative names that identity rules can list. */
const SAN_PREFIXES = ["DNS:", "URI:", "IP:", "email:"];

/**
 * Reads and checks a YAML configuration file. Keys are the agent's option
 * names (as in `--help`) plus `identities` and `protected-networks`.
 * @param optionKinds the scalar options the file may set, and their kind.
 * @throws Error naming the file, the key and the fix.
 */
export function readConfigFile(path: string, optionKinds: Map<string, "string" | "boolean">, accounts?: AccountFiles): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new Error(`cannot read the configuration file ${path}: ${(error as Error).message}`);
  }

  const document = parseDocument(text);
  if (document.errors.length > 0) {
    throw new Error(`invalid configuration file ${path}: ${document.errors[0].message}`);
  }
  const content: unknown = document.toJS() ?? {};
  if (typeof content !== "object" || Array.isArray(content) || content === null) {
    throw new Error(`invalid configuration file ${path}: the top level must be a mapping of option names to values`);
  }

  const file: ConfigFile = { path, options: new Map() };
  for (const [key, value] of Object.entries(content)) {
    const where = `${key} in ${path}`;
    if (key === "identities") {
      file.identities = parseIdentities(value, where, accounts);
    } else if (key === "protected-networks") {
      file.protectedNetworks = parseStringList(value, where, "network names or glob patterns such as mgmt-*");
    } else if (optionKinds.get(key) === "boolean") {
      if (typeof value !== "boolean") {
        throw new Error(`invalid ${where}: ${JSON.stringify(value)} is not a boolean; use true or false`);
      }
      file.options.set(key, value);
    } else if (optionKinds.get(key) === "string") {
      if (typeof value !== "string") {
        throw new Error(`invalid ${where}: ${JSON.stringify(value)} is not a string; quote the value, for example ${key}: "${String(value)}"`);
      }
      file.options.set(key, value);
    } else {
      const known = [...optionKinds.keys(), "identities", "protected-networks"].sort();
      throw new Error(`unknown key ${JSON.stringify(key)} in ${path}: use one of ${known.join(", ")}`);
    }
  }
  return file;
}

function parseIdentities(value: unknown, where: string, accounts?: AccountFiles): IdentityRule[] {
  if (!Array.isArray(value)) {
    throw new Error(`invalid ${where}: use a list of entries such as {role: operator, groups: [netagent]}`);
  }
  return value.map((entry: unknown, index) => {
    const at = `${where}, entry ${index + 1}`;
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      throw new Error(`invalid ${at}: use a mapping with role and at least one of users, groups, common-names, sans`);
    }
    const fields = entry as Record<string, unknown>;
    const unknown = Object.keys(fields).filter((key) => !["role", "users", "groups", "common-names", "sans"].includes(key));
    if (unknown.length > 0) {
      throw new Error(`invalid ${at}: unknown key ${JSON.stringify(unknown[0])}; use role, users, groups, common-names or sans`);
    }
    if (!ROLES.includes(fields.role as Role)) {
      throw new Error(`invalid ${at}: role ${JSON.stringify(fields.role)} is not one of ${ROLES.join(", ")}`);
    }

    const rule: IdentityRule = {
      role: fields.role as Role,
      uids: parseIdList(fields.users, `${at}, users`).map((user) => withContext(at, () => resolveUser(user, accounts))),
      gids: parseIdList(fields.groups, `${at}, groups`).map((group) => withContext(at, () => resolveGroup(group, accounts))),
      commonNames: fields["common-names"] === undefined ? [] : parseStringList(fields["common-names"], `${at}, common-names`, "certificate common names"),
      sans: fields.sans === undefined ? [] : parseStringList(fields.sans, `${at}, sans`, "names such as DNS:host.example.net or URI:spiffe://example.net/cp"),
    };
    const badSan = rule.sans.find((san) => !SAN_PREFIXES.some((prefix) => san.startsWith(prefix)));
    if (badSan !== undefined) {
      throw new Error(`invalid ${at}, sans: ${JSON.stringify(badSan)} must start with one of ${SAN_PREFIXES.join(" ")}`);
    }
    if (rule.uids.length + rule.gids.length + rule.commonNames.length + rule.sans.length === 0) {
      throw new Error(`invalid ${at}: it matches nobody; list users, groups, common-names or sans`);
    }
    return rule;
  });
}

function parseIdList(value: unknown, where: string): Array<string | number> {
  if (value === undefined) {
    return [];
  }
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string" || typeof item === "number")) {
    throw new Error(`invalid ${where}: use a list of names or numeric ids, for example [root, 1000]`);
  }
  return value as Array<string | number>;
}

function parseStringList(value: unknown, where: string, what: string): string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string" && item !== "")) {
    throw new Error(`invalid ${where}: use a list of ${what}`);
  }
  return value as string[];
}

function withContext<T>(where: string, resolve: () => T): T {
  try {
    return resolve();
  } catch (error) {
    throw new Error(`invalid ${where}: ${(error as Error).message}`);
  }
}
