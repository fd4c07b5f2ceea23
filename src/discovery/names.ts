/**
 * The names a server announces: its instance name (what people read in a
 * list, `--name`, by default the host name) and the `.local` host name its
 * addresses are published under.
 *
 * @module
 */

import { MAX_INSTANCE_NAME_BYTES, SERVICE_TYPE } from "./constants.ts";

/**
 * Checks an instance name given with `--name`: 1 to 63 UTF-8 bytes, no dot
 * (it would split the DNS label), no control characters. Returns it
 * trimmed; throws a RangeError that says what is wrong.
 */
export function checkInstanceName(name: string): string {
  const trimmed = name.trim();
  const bytes = new TextEncoder().encode(trimmed).length;
  if (bytes === 0) throw new RangeError("the server name is empty");
  if (bytes > MAX_INSTANCE_NAME_BYTES) {
    throw new RangeError(
      `the server name "${trimmed}" is ${bytes} bytes long; at most ${MAX_INSTANCE_NAME_BYTES} fit`,
    );
  }
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f.\\]/.test(trimmed)) {
    throw new RangeError(
      `the server name "${trimmed}" may not hold dots, backslashes or control characters`,
    );
  }
  return trimmed;
}

/**
 * The first label of a host name made fit for `<label>.local`: letters,
 * digits and hyphens, at most 63, never empty.
 *
 * @example
 * ```ts
 * hostLabel("build box.example.org"); // "build-box"
 * ```
 */
export function hostLabel(hostname: string): string {
  const label = (hostname.split(".")[0] ?? "").replace(/[^A-Za-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "").slice(0, 63);
  return label || "dfos-server";
}

/** The DNS-SD name of instance `name`: `<name>._dfos._tcp.local`. */
export function instanceFullName(name: string): string {
  return `${name}.${SERVICE_TYPE}`;
}

/** The instance part of a full name of this service type, or undefined for other names. */
export function instanceOf(fullName: string): string | undefined {
  const suffix = `.${SERVICE_TYPE}`;
  if (!fullName.toLowerCase().endsWith(suffix.toLowerCase())) return undefined;
  const instance = fullName.slice(0, -suffix.length);
  return instance === "" ? undefined : instance;
}
