/**
 * Password hashing for the users file: scrypt with a random per-user salt,
 * stored as one self-describing string so the cost can be raised later
 * without breaking the hashes already written:
 *
 * ```text
 * scrypt$ln=15,r=8,p=1$<salt, base64 without padding>$<key, base64 without padding>
 * ```
 *
 * `ln` is log2 of scrypt's N (CPU/memory cost), `r` the block size and `p`
 * the parallelism. Anything not starting with `scrypt$` is a legacy
 * plaintext password.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

/** scrypt cost parameters. */
export interface ScryptParams {
  /** log2 of N, the CPU and memory cost. */
  ln: number;
  /** Block size. */
  r: number;
  /** Parallelism. */
  p: number;
}

/** What new hashes use: N = 2^15, r = 8, p = 1 (32 MiB, about 0.1 s). */
export const DEFAULT_SCRYPT_PARAMS: Readonly<ScryptParams> = Object.freeze({ ln: 15, r: 8, p: 1 });

/** A stored hash taken apart. */
export interface ParsedPasswordHash {
  params: ScryptParams;
  salt: Buffer;
  key: Buffer;
}

/** A stored hash string is not in the `scrypt$ln=…,r=…,p=…$salt$key` format. */
export class HashFormatError extends Error {
  constructor(readonly reason: string) {
    super(`malformed password hash: ${reason}`);
    this.name = "HashFormatError";
  }
}

const PREFIX = "scrypt$";
const SALT_BYTES = 16;
const KEY_BYTES = 32;
const MIN_MAXMEM = 64 * 1024 * 1024;
/** Limits that keep a hostile or mistyped users file from exhausting memory or CPU. */
const LIMITS = { ln: [1, 20], r: [1, 32], p: [1, 16], memoryBytes: 1024 * 1024 * 1024 } as const;
const PARAMS_PATTERN = /^ln=([1-9]\d*),r=([1-9]\d*),p=([1-9]\d*)$/;
const BASE64_PATTERN = /^[A-Za-z0-9+/]+$/;

/** Hashes `password` with a fresh random salt; `params` default to {@link DEFAULT_SCRYPT_PARAMS}. */
export async function hashPassword(
  password: string,
  params: ScryptParams = DEFAULT_SCRYPT_PARAMS,
): Promise<string> {
  checkParams(params);
  const salt = randomBytes(SALT_BYTES);
  const key = await deriveKey(password, salt, KEY_BYTES, params);
  const { ln, r, p } = params;
  return `${PREFIX}ln=${ln},r=${r},p=${p}$${toBase64(salt)}$${toBase64(key)}`;
}

/**
 * True when `password` matches the stored hash; the comparison takes the same
 * time wherever the keys differ. Rejects with {@link HashFormatError} when
 * `stored` is not a well-formed hash.
 */
export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  const { params, salt, key } = parsePasswordHash(stored);
  const candidate = await deriveKey(password, salt, key.length, params);
  return timingSafeEqual(candidate, key);
}

/** True when `secret` is in the hashed format (well-formed or not); otherwise it is plaintext. */
export function isHashed(secret: string): boolean {
  return secret.startsWith(PREFIX);
}

/**
 * True when `secret` should be replaced by a fresh hash: it is legacy
 * plaintext, or its cost parameters are below `current`. Throws
 * {@link HashFormatError} for a malformed hash.
 */
export function needsRehash(
  secret: string,
  current: ScryptParams = DEFAULT_SCRYPT_PARAMS,
): boolean {
  if (!isHashed(secret)) return true;
  const { params, salt, key } = parsePasswordHash(secret);
  return params.ln < current.ln || params.r < current.r || params.p < current.p ||
    salt.length < SALT_BYTES || key.length < KEY_BYTES;
}

/** Takes a stored hash apart; throws {@link HashFormatError} saying what is wrong. */
export function parsePasswordHash(stored: string): ParsedPasswordHash {
  if (!isHashed(stored)) throw new HashFormatError(`does not start with "${PREFIX}"`);
  const fields = stored.slice(PREFIX.length).split("$");
  if (fields.length !== 3) {
    throw new HashFormatError("expected scrypt$ln=N,r=N,p=N$salt$key");
  }
  const [paramsText, saltText, keyText] = fields;
  const match = PARAMS_PATTERN.exec(paramsText);
  if (!match) throw new HashFormatError("parameters must read ln=N,r=N,p=N");
  const params = { ln: Number(match[1]), r: Number(match[2]), p: Number(match[3]) };
  checkParams(params, (reason) => new HashFormatError(reason));
  const salt = fromBase64(saltText, "salt", 8);
  const key = fromBase64(keyText, "key", 16);
  return { params, salt, key };
}

function checkParams(
  params: ScryptParams,
  fail: (reason: string) => Error = (reason) => new RangeError(reason),
): void {
  for (const name of ["ln", "r", "p"] as const) {
    const [min, max] = LIMITS[name];
    const value = params[name];
    if (!Number.isInteger(value) || value < min || value > max) {
      throw fail(`scrypt ${name} must be a whole number from ${min} to ${max}`);
    }
  }
  if (scryptMemory(params) > LIMITS.memoryBytes) {
    throw fail("scrypt parameters need more than 1 GiB of memory");
  }
}

function fromBase64(text: string, what: string, minBytes: number): Buffer {
  if (!BASE64_PATTERN.test(text) || text.length % 4 === 1) {
    throw new HashFormatError(`${what} is not base64 without padding`);
  }
  const bytes = Buffer.from(text, "base64");
  if (bytes.length < minBytes) {
    throw new HashFormatError(`${what} is shorter than ${minBytes} bytes`);
  }
  return bytes;
}

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64").replace(/=+$/, "");
}

/** Bytes scrypt's main loop needs: 128 · N · r. */
function scryptMemory({ ln, r }: ScryptParams): number {
  return 128 * 2 ** ln * r;
}

function deriveKey(
  password: string,
  salt: Uint8Array,
  length: number,
  params: ScryptParams,
): Promise<Buffer> {
  const options = {
    N: 2 ** params.ln,
    r: params.r,
    p: params.p,
    maxmem: Math.max(MIN_MAXMEM, 2 * scryptMemory(params)),
  };
  return new Promise((resolve, reject) => {
    scrypt(password, salt, length, options, (error, key) => error ? reject(error) : resolve(key));
  });
}
