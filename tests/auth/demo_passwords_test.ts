import assert from "node:assert/strict";
import { Authenticator } from "../../src/auth/authenticator.ts";
import {
  DEMO_PASSWORDS,
  isDemoPassword,
  isLoopbackAddress,
  storesDemoPassword,
} from "../../src/auth/demo_passwords.ts";
import { hashPassword } from "../../src/auth/password_hash.ts";
import { parseUsersFile } from "../../src/auth/users_file.ts";

/** Cheap scrypt parameters for tests that are not about cost. */
const FAST = { ln: 10, r: 8, p: 1 };

Deno.test("loopback is 127.0.0.0/8, ::1 and IPv4 loopback mapped into IPv6; nothing else", () => {
  for (const address of ["127.0.0.1", "127.1.2.3", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"]) {
    assert.ok(isLoopbackAddress(address), address);
  }
  for (
    const address of [
      "10.200.0.2",
      "192.168.1.127",
      "128.0.0.1",
      "::2",
      "::ffff:10.0.0.1",
      "fe80::1",
      "0.0.0.0",
      "127.example.com",
    ]
  ) {
    assert.ok(!isLoopbackAddress(address), address);
  }
});

Deno.test("the demo passwords are the documented ones, whoever uses them", () => {
  assert.ok(isDemoPassword("alice-demo-password"));
  assert.ok(isDemoPassword("bob-demo-password"));
  assert.ok(!isDemoPassword("alice-demo-password "));
  assert.ok(!isDemoPassword("alice-secret"));
});

Deno.test("the shipped users file holds the demo users with the passwords README.md prints", async () => {
  const root = new URL("../../", import.meta.url);
  const readme = await Deno.readTextFile(new URL("README.md", root));
  const { users } = parseUsersFile(await Deno.readTextFile(new URL("id_passwd.txt", root)));
  for (const [name, password] of DEMO_PASSWORDS) {
    assert.ok(readme.includes(`| \`${name}\``) && readme.includes(`\`${password}\``), name);
    const secret = users.get(name)?.secret;
    assert.ok(secret, `${name} is in id_passwd.txt`);
    assert.ok(await storesDemoPassword(name, secret), `${name}'s hash is of ${password}`);
  }
});

Deno.test("users with a demo password are found in plaintext and in a demo user's hash, and no longer once it changes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dfos-demo-" });
  try {
    const path = `${dir}/id_passwd.txt`;
    const aliceDemo = await hashPassword("alice-demo-password", FAST);
    await Deno.writeTextFile(
      path,
      `alice:${aliceDemo}\nbob:bob-secret\ncarol:bob-demo-password\n`,
    );
    let changes = 0;
    const auth = new Authenticator(path, () => {}, {
      scryptParams: FAST,
      onUsersChanged: () => changes++,
    });
    await auth.load();
    assert.deepEqual(await auth.demoPasswordUsers(), ["alice", "carol"]);
    assert.equal(changes, 0, "the first load is no change");

    // As `dfos user passwd alice` would: a new hash of another password.
    const text = `alice:${await hashPassword("alice-own-password", FAST)}\nbob:bob-secret\n`;
    await Deno.writeTextFile(path, text);
    const later = new Date(Date.now() + 5_000);
    await Deno.utime(path, later, later);
    await auth.load();
    assert.equal(changes, 1);
    assert.deepEqual(await auth.demoPasswordUsers(), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a login with a demo password teaches the authenticator that the new hash holds one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dfos-demo-" });
  try {
    const path = `${dir}/id_passwd.txt`;
    // Plaintext: the login replaces it by a hash. Carol is no demo user, so that hash would
    // not be checked against the demo passwords; what the login learnt is all that tells.
    await Deno.writeTextFile(path, "carol:bob-demo-password\n");
    const auth = new Authenticator(path, () => {}, { scryptParams: FAST });
    await auth.load();
    assert.deepEqual(await auth.demoPasswordUsers(), ["carol"]);
    assert.ok(await auth.verify("carol", "bob-demo-password"));
    assert.match(await Deno.readTextFile(path), /^carol:scrypt\$/, "rehashed");
    await auth.load();
    assert.deepEqual(await auth.demoPasswordUsers(), ["carol"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
