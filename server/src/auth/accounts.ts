import { readFileSync } from "node:fs";

/** Where user and group names are looked up; tests point these at their own files. */
export interface AccountFiles {
  passwd: string;
  group: string;
}

export const SYSTEM_ACCOUNT_FILES: AccountFiles = { passwd: "/etc/passwd", group: "/etc/group" };

/**
 * Resolves a user name or numeric uid to a uid through the passwd file.
 * NOTE: users known only to NSS modules (LDAP, sssd) are not found; use their uid.
 * @throws Error naming the unknown user.
 */
export function resolveUser(user: string | number, files: AccountFiles = SYSTEM_ACCOUNT_FILES): number {
  return resolveId(user, files.passwd, "user");
}

/**
 * Resolves a group name or numeric gid to a gid through the group file.
 * @throws Error naming the unknown group.
 */
export function resolveGroup(group: string | number, files: AccountFiles = SYSTEM_ACCOUNT_FILES): number {
  return resolveId(group, files.group, "group");
}

function resolveId(value: string | number, file: string, what: "user" | "group"): number {
  if (typeof value === "number" || /^[0-9]+$/.test(value)) {
    const id = Number(value);
    if (!Number.isInteger(id) || id < 0 || id > 0xfffffffe) {
      throw new Error(`invalid ${what} id ${value}: use a number from 0 to 4294967294 or a ${what} name`);
    }
    return id;
  }

  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new Error(`cannot look up ${what} ${JSON.stringify(value)}: reading ${file} failed: ${(error as Error).message}`);
  }
  // Both files have the name in the first colon-separated field and the id in the third.
  for (const line of text.split("\n")) {
    const fields = line.split(":");
    if (fields[0] === value && fields.length >= 3) {
      return Number(fields[2]);
    }
  }
  throw new Error(`unknown ${what} ${JSON.stringify(value)}: it is not in ${file}; use its numeric id instead`);
}
