import assert from "node:assert/strict";
import {
  DEFAULT_SCRYPT_PARAMS,
  HashFormatError,
  hashPassword,
  isHashed,
  needsRehash,
  parsePasswordHash,
  verifyPassword,
} from "../../src/auth/password_hash.ts";

/** Cheap parameters so the tests stay fast; the format does not depend on them. */
const FAST = { ln: 10, r: 8, p: 1 };

Deno.test("a hashed password verifies, and a wrong or empty one does not", async () => {
  const stored = await hashPassword("correct horse 🔑", FAST);
  assert.equal(await verifyPassword(stored, "correct horse 🔑"), true);
  assert.equal(await verifyPassword(stored, "correct horse"), false);
  assert.equal(await verifyPassword(stored, "Correct horse 🔑"), false);
  assert.equal(await verifyPassword(stored, ""), false);
});

Deno.test("the stored string is scrypt$ln=..,r=..,p=..$salt$key in base64 without padding", async () => {
  // Long enough that random base64 cannot spell it by chance (a two-letter one did, now and then).
  const password = "correct horse battery staple";
  const stored = await hashPassword(password, FAST);
  assert.match(stored, /^scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  assert.ok(!stored.includes(password), "the password is not in the stored string");
  assert.doesNotMatch(stored, /=$/);
});

Deno.test("the same password hashes differently each time (a random salt per hash)", async () => {
  const [first, second] = await Promise.all([hashPassword("pw", FAST), hashPassword("pw", FAST)]);
  assert.notEqual(first, second);
  assert.notEqual(
    parsePasswordHash(first).salt.toString("hex"),
    parsePasswordHash(second).salt.toString("hex"),
  );
  assert.equal(await verifyPassword(second, "pw"), true);
});

Deno.test("the default parameters are N = 2^15, r = 8, p = 1 and land in the string", async () => {
  assert.deepEqual({ ...DEFAULT_SCRYPT_PARAMS }, { ln: 15, r: 8, p: 1 });
  const stored = await hashPassword("pw");
  assert.ok(stored.startsWith("scrypt$ln=15,r=8,p=1$"));
  assert.equal(await verifyPassword(stored, "pw"), true);
});

Deno.test("verification uses the parameters stored in the string, not the defaults", async () => {
  const stored = await hashPassword("pw", { ln: 11, r: 4, p: 2 });
  const parsed = parsePasswordHash(stored);
  assert.deepEqual(parsed.params, { ln: 11, r: 4, p: 2 });
  assert.equal(parsed.salt.length, 16);
  assert.equal(parsed.key.length, 32);
  assert.equal(await verifyPassword(stored, "pw"), true);
});

Deno.test("malformed hash strings are refused with a HashFormatError that says why", async () => {
  const good = await hashPassword("pw", FAST);
  const [, , salt, key] = good.split("$");
  const malformed: [string, RegExp][] = [
    ["plaintext", /does not start with/],
    ["scrypt$", /expected scrypt\$/],
    [`scrypt$ln=10,r=8,p=1$${salt}`, /expected scrypt\$/],
    [`scrypt$ln=10,r=8,p=1$${salt}$${key}$extra`, /expected scrypt\$/],
    [`scrypt$n=1024,r=8,p=1$${salt}$${key}`, /ln=N,r=N,p=N/],
    [`scrypt$ln=10,p=1,r=8$${salt}$${key}`, /ln=N,r=N,p=N/],
    [`scrypt$ln=010,r=8,p=1$${salt}$${key}`, /ln=N,r=N,p=N/],
    [`scrypt$ln=0,r=8,p=1$${salt}$${key}`, /ln=N,r=N,p=N/],
    [`scrypt$ln=40,r=8,p=1$${salt}$${key}`, /ln must be/],
    [`scrypt$ln=20,r=32,p=1$${salt}$${key}`, /more than 1 GiB/],
    [`scrypt$ln=10,r=8,p=1$${salt}=$${key}`, /salt is not base64/],
    [`scrypt$ln=10,r=8,p=1$${salt}$not*base64`, /key is not base64/],
    [`scrypt$ln=10,r=8,p=1$AAAA$${key}`, /salt is shorter/],
    [`scrypt$ln=10,r=8,p=1$${salt}$AAAA`, /key is shorter/],
  ];
  for (const [stored, reason] of malformed) {
    assert.throws(() => parsePasswordHash(stored), (error: Error) => {
      assert.ok(error instanceof HashFormatError, stored);
      assert.match(error.message, /^malformed password hash: /);
      assert.match(error.message, reason, stored);
      return true;
    });
    await assert.rejects(verifyPassword(stored, "pw"), HashFormatError, stored);
  }
});

Deno.test("isHashed tells the scrypt format from legacy plaintext", async () => {
  assert.equal(isHashed(await hashPassword("pw", FAST)), true);
  assert.equal(isHashed("scrypt$whatever"), true, "malformed, but claims the format");
  assert.equal(isHashed("alice-demo-password"), false);
  assert.equal(isHashed("Scrypt$ln=1"), false);
  assert.equal(isHashed(""), false);
});

Deno.test("needsRehash is true for plaintext and for parameters below the current ones", async () => {
  const weak = await hashPassword("pw", FAST);
  const strong = await hashPassword("pw", { ln: 11, r: 8, p: 1 });
  assert.equal(needsRehash("plaintext-password"), true);
  assert.equal(needsRehash(weak), true, "ln=10 is below the default ln=15");
  assert.equal(needsRehash(weak, FAST), false);
  assert.equal(needsRehash(strong, FAST), false, "stronger than required is fine");
  assert.equal(needsRehash(weak, { ln: 10, r: 16, p: 1 }), true, "a smaller r counts too");
  assert.equal(needsRehash(weak, { ln: 10, r: 8, p: 2 }), true, "a smaller p counts too");
  assert.equal(needsRehash(await hashPassword("pw")), false);
  assert.throws(() => needsRehash("scrypt$broken"), HashFormatError);
});

Deno.test("hashPassword refuses parameters outside the safe limits", async () => {
  await assert.rejects(hashPassword("pw", { ln: 0, r: 8, p: 1 }), RangeError);
  await assert.rejects(hashPassword("pw", { ln: 10, r: 8, p: 1.5 }), RangeError);
  await assert.rejects(hashPassword("pw", { ln: 21, r: 8, p: 1 }), RangeError);
});
