/**
 * The one mapping from what the S3 client throws (a reply of the store, a
 * network failure, a timeout) to an {@link ObjectStoreError} of a kind, with
 * a message that names the store and the key, never a secret.
 *
 * @module
 */

import { ObjectStoreError, type ObjectStoreErrorKind } from "./object_store.ts";

/** Error codes of S3 replies, by kind. */
const KIND_BY_CODE: ReadonlyMap<string, ObjectStoreErrorKind> = new Map([
  ["NoSuchKey", "not-found"],
  ["NotFound", "not-found"],
  ["NoSuchUpload", "not-found"],
  ["NoSuchBucket", "not-found"],
  ["AccessDenied", "refused"],
  ["Forbidden", "refused"],
  ["InvalidAccessKeyId", "refused"],
  ["SignatureDoesNotMatch", "refused"],
  ["ExpiredToken", "refused"],
  ["InvalidToken", "refused"],
  ["SlowDown", "unreachable"],
  ["ServiceUnavailable", "unreachable"],
  ["InternalError", "unreachable"],
  ["RequestTimeout", "unreachable"],
  ["TimeoutError", "unreachable"],
  ["AbortError", "unreachable"],
]);

/** Network error codes: the store could not be reached or dropped the connection. */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "ETIMEDOUT",
]);

/** What is known of a thrown value, whatever threw it. */
interface ErrorFacts {
  name?: string;
  code?: string;
  message?: string;
  status?: number;
}

function factsOf(error: unknown): ErrorFacts {
  if (typeof error !== "object" || error === null) return { message: String(error) };
  const record = error as Record<string, unknown> & { $metadata?: { httpStatusCode?: number } };
  const text = (value: unknown) => typeof value === "string" ? value : undefined;
  return {
    name: text(record.name),
    code: text(record.code) ?? text(record.Code),
    message: text(record.message),
    status: record.$metadata?.httpStatusCode,
  };
}

/** The kind of a failure, from the reply's code, the network error or the HTTP status. */
export function kindOfS3Error(error: unknown): ObjectStoreErrorKind {
  const facts = factsOf(error);
  const byCode = KIND_BY_CODE.get(facts.code ?? "") ?? KIND_BY_CODE.get(facts.name ?? "");
  if (byCode) return byCode;
  if (NETWORK_CODES.has(facts.code ?? "")) return "unreachable";
  const status = facts.status ?? 0;
  if (status === 404) return "not-found";
  if (status === 401 || status === 403) return "refused";
  if (status >= 500) return "unreachable";
  return "other";
}

/** Words for each kind, leading the reason in a message. */
const KIND_WORDS: Record<ObjectStoreErrorKind, string> = {
  "not-found": "not found",
  unreachable: "the object store is unreachable or did not answer in time",
  refused: "the object store refused the credentials or the access",
  other: "the object store failed the request",
};

/** What the store or the network said, with any of `secrets` blotted out. */
function detailOf(facts: ErrorFacts, secrets: readonly string[]): string {
  // The SDK says "UnknownError" for a reply without a body (any HEAD): no detail.
  const message = facts.message === "UnknownError" ? undefined : facts.message;
  const parts = [facts.code ?? facts.name, message].filter((part) => part);
  let detail = [...new Set(parts)].join(": ").slice(0, 300);
  for (const secret of secrets) {
    if (secret !== "") detail = detail.replaceAll(secret, "[secret]");
  }
  return detail;
}

/**
 * `error`, thrown while doing `what` on `store`, as an ObjectStoreError. An
 * ObjectStoreError passes through unchanged.
 *
 * @example
 * ```ts
 * // "http://127.0.0.1:7480 bucket files/team: head of "a1" failed: not found (NotFound)"
 * throw toObjectStoreError(error, "http://127.0.0.1:7480 bucket files/team", 'head of "a1"', []);
 * ```
 */
export function toObjectStoreError(
  error: unknown,
  store: string,
  what: string,
  secrets: readonly string[],
): ObjectStoreError {
  if (error instanceof ObjectStoreError) return error;
  const kind = kindOfS3Error(error);
  const detail = detailOf(factsOf(error), secrets);
  const reason = detail === "" ? KIND_WORDS[kind] : `${KIND_WORDS[kind]} (${detail})`;
  return new ObjectStoreError(kind, `${store}: ${what} failed: ${reason}`);
}
