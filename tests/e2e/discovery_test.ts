/**
 * Discovery end to end, only inside two network namespaces the test makes
 * (joined by a veth pair and to nothing else), so no multicast packet can
 * reach an interface of the machine: a `--discoverable` server in one, and
 * in the other `dfos discover`, python-zeroconf (an independent DNS-SD
 * implementation) and the client's list to pick from.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  canMakeNamespaces,
  dfosInNamespace,
  dfosWords,
  makeNamespacePair,
  run,
} from "../helpers/namespaces.ts";
import { collectText, startServer, USERS, waitFor, within } from "../helpers/processes.ts";
import { hasTmux, Terminal } from "../helpers/terminal.ts";
import { KnownHosts } from "../../src/transport/known_hosts.ts";
import { pemToDer, SERVER_CERT_NAME } from "../../src/transport/certificate.ts";
import { createSelfSignedCertificate } from "../../src/transport/certificate_x509.ts";

const ZEROCONF_SCRIPT = new URL("../helpers/zeroconf_browse.py", import.meta.url).pathname;
const NAME = "Test Office";

const netns = await canMakeNamespaces();
if (!netns) {
  console.warn(
    "discovery_test: skipped, needs root and `ip netns` (discovery is tested only inside namespaces of its own)",
  );
}
const zeroconf = (await run("/usr/bin/python3", ["-c", "import zeroconf"])).ok;
if (netns && !zeroconf) {
  console.warn(
    "discovery_test: the python-zeroconf steps are skipped (apt-get install python3-zeroconf)",
  );
}
const tmux = await hasTmux;

Deno.test({
  name: "discovery across two network namespaces",
  ignore: !netns, // Needs root and `ip netns`: multicast is sent only between namespaces of its own.
  async fn(t) {
    await using pair = await makeNamespacePair();
    const inA = { namespace: pair.a.name };
    await using announced = await startServer(
      ["--host=0.0.0.0", "--discoverable", `--name=${NAME}`],
      undefined,
      inA,
    );
    await using silent = await startServer(["--host=0.0.0.0"], undefined, inA);
    await waitFor(() => announced.output().includes("announcing"), 10_000, "the announcement");
    assert.match(
      announced.output(),
      /announcing Test Office on the local network \(veth0 10\.201\.0\.1\)/,
    );
    const dir = await Deno.makeTempDir({ prefix: "dfos-discovery-" });

    await t.step(
      "dfos discover in the other namespace lists the announced server, with its port and fingerprint, and not the other",
      async () => {
        const result = await dfosInNamespace(pair.b.name, [
          "discover",
          "--json",
          "--timeout=1",
          `--known-hosts=${join(dir, "none")}`,
        ]).output();
        assert.equal(result.code, 0, new TextDecoder().decode(result.stderr));
        const servers = JSON.parse(new TextDecoder().decode(result.stdout));
        assert.equal(servers.length, 1, JSON.stringify(servers));
        assert.equal(servers[0].name, NAME);
        assert.equal(servers[0].port, announced.port);
        assert.notEqual(servers[0].port, silent.port);
        assert.deepEqual(servers[0].addresses, [pair.a.address]);
        assert.equal(servers[0].fingerprint, announced.fingerprint);
        assert.equal(servers[0].protocolVersion, 1);
        assert.equal(servers[0].trust, "new");
        const table = await dfosInNamespace(pair.b.name, ["discover", "--timeout=0.5"]).output();
        const text = new TextDecoder().decode(table.stdout);
        assert.match(text, /^NAME +ADDRESS +TRUST +FINGERPRINT\n/);
        assert.match(
          text,
          new RegExp(`${NAME} +10\\.201\\.0\\.1:${announced.port} +\\S+ +${announced.fingerprint}`),
        );
      },
    );

    await t.step("only the --discoverable server holds UDP port 5353", async () => {
      const sockets = await mdnsSockets(pair.a.name);
      assert.ok(sockets.ok, sockets.stderr);
      assert.match(sockets.stdout, new RegExp(`pid=${announced.pid},`));
      assert.doesNotMatch(sockets.stdout, new RegExp(`pid=${silent.pid},`));
    });

    await t.step({
      name: "python-zeroconf finds and resolves it",
      ignore: !zeroconf,
      async fn() {
        const result = await run("ip", [
          "netns",
          "exec",
          pair.b.name,
          "/usr/bin/python3",
          ZEROCONF_SCRIPT,
          "5",
        ]);
        assert.ok(result.ok, result.stderr);
        const found = result.stdout.trim().split("\n").map((line) => JSON.parse(line));
        assert.equal(found.length, 1, result.stdout);
        assert.equal(found[0].name, `${NAME}._dfos._tcp.local.`);
        assert.equal(found[0].resolved, true);
        assert.equal(found[0].port, announced.port);
        assert.deepEqual(found[0].addresses, [pair.a.address]);
        assert.equal(found[0].properties.fp, announced.fingerprint);
        assert.equal(found[0].properties.proto, "1");
        assert.match(found[0].properties.id, /^[0-9a-f-]{36}$/);
      },
    });

    await t.step({
      name:
        "a picked server is trusted through known-hosts only: new is asked about, a changed certificate is refused",
      ignore: !tmux,
      async fn() {
        const fresh = join(dir, "fresh_known_hosts");
        await using first = await pickFirst(pair.b.name, fresh, ["--accept-new-host"]);
        await first.expect(`${NAME}  10.201.0.1:${announced.port}  new`);
        await first.typeLine("1");
        assert.equal(await first.exitCode(), 0, await first.screen());
        const remembered = (await KnownHosts.load(fresh)).find(`10.201.0.1:${announced.port}`);
        assert.equal(remembered?.fingerprint, announced.fingerprint);

        const forged = join(dir, "forged_known_hosts");
        const other = pemToDer((await createSelfSignedCertificate()).certPem);
        await (await KnownHosts.load(forged)).add(
          `10.201.0.1:${announced.port}`,
          other,
          SERVER_CERT_NAME,
        );
        const before = await Deno.readTextFile(forged);
        await using second = await pickFirst(pair.b.name, forged, []);
        await second.expect("CHANGED (known-hosts holds another certificate)");
        await second.typeLine("1");
        await second.expect("SERVER IDENTITY CHANGED for 10.201.0.1");
        assert.equal(await second.exitCode(), 4);
        assert.equal(await Deno.readTextFile(forged), before, "known-hosts is left as it was");
      },
    });

    await t.step(
      "with no multicast interface, or port 5353 held, discovery says so and the server serves on",
      async () => {
        const lonely = await pair.lonely();
        const none = await dfosInNamespace(lonely, ["discover", "--timeout=0.5"]).output();
        assert.equal(none.code, 1);
        assert.equal(
          new TextDecoder().decode(none.stderr),
          "dfos: discover: no network interface that can do multicast to search on\n",
        );
        await using holder = holdPort(pair.b.name);
        await holder.ready;
        const held = await dfosInNamespace(pair.b.name, ["discover", "--timeout=0.5"]).output();
        assert.equal(held.code, 1);
        assert.match(
          new TextDecoder().decode(held.stderr),
          /^dfos: discover: cannot use interface veth0 \(10\.201\.0\.2\): UDP port 5353 is held by another program/,
        );
        await using server = await startServer(["--host=0.0.0.0", "--discoverable"], undefined, {
          namespace: pair.b.name,
        });
        await waitFor(() => server.output().includes("not discoverable"), 10_000, "the warning");
        assert.match(
          server.output(),
          /not discoverable: cannot use interface veth0 \(10\.201\.0\.2\): UDP port 5353 is held/,
        );
      },
    );

    await t.step(
      "a server on loopback is not announced, and a bad --name is a usage error",
      async () => {
        await using local = await startServer(
          ["--host=127.0.0.1", "--discoverable"],
          undefined,
          inA,
        );
        await waitFor(() => local.output().includes("not discoverable"), 10_000, "the warning");
        assert.match(
          local.output(),
          /not discoverable: the server listens on 127\.0\.0\.1 \(loopback\)/,
        );
        const sockets = await mdnsSockets(pair.a.name);
        assert.doesNotMatch(sockets.stdout, new RegExp(`pid=${local.pid},`));
        for (
          const [args, message] of [
            [["--name=Office"], "--name is the name --discoverable announces: give both"],
            [["--discoverable", "--name=a.b"], "may not hold dots"],
            [["--discoverable", `--name=${"x".repeat(64)}`], "at most 63 fit"],
          ] as const
        ) {
          const result = await dfosInNamespace(pair.a.name, ["server", "--port=0", ...args])
            .output();
          assert.equal(result.code, 2);
          assert.match(new TextDecoder().decode(result.stderr), new RegExp(message));
        }
      },
    );

    await t.step({
      name:
        "on a terminal, the client says that no server answered and connects to the default address",
      ignore: !tmux,
      async fn() {
        const lonely = await pair.lonely();
        const client = dfosWords([
          "client",
          "--user=alice",
          `--known-hosts=${join(dir, "kh")}`,
          "pwd",
        ]);
        await using terminal = await Terminal.start(["ip", "netns", "exec", lonely, ...client], {
          env: { DFOS_PASSWORD: USERS.alice },
        });
        await terminal.expect(
          "dfos: cannot look for servers: no network interface that can do multicast to search on; connecting to 127.0.0.1:33000",
        );
        await terminal.expect("cannot connect to 127.0.0.1:33000");
        assert.equal(await terminal.exitCode(), 4);
      },
    });

    await t.step({
      name: "a stopping server says goodbye: python-zeroconf sees it leave",
      ignore: !zeroconf,
      async fn() {
        const watcher = new Deno.Command("ip", {
          args: [
            "netns",
            "exec",
            pair.b.name,
            "/usr/bin/python3",
            ZEROCONF_SCRIPT,
            "8",
            "--until-removed",
          ],
          stdin: "null",
          stdout: "piped",
          stderr: "null",
        }).spawn();
        const output = collectText(watcher.stdout);
        await waitFor(
          () => output.text().includes('"resolved": true'),
          10_000,
          "zeroconf to resolve it",
        );
        assert.equal(await announced.stop("SIGTERM"), 0);
        const status = await within(watcher.status, 15_000, "the zeroconf watcher");
        await output.done;
        assert.ok(status.success);
        assert.ok(
          output.text().includes(`{"removed": "${NAME}._dfos._tcp.local."}`),
          output.text(),
        );
      },
    });
    await Deno.remove(dir, { recursive: true });
  },
});

/** `dfos client pwd` on a terminal in `namespace`, with neither --host nor --port: it offers the servers found. */
async function pickFirst(
  namespace: string,
  knownHosts: string,
  flags: string[],
): Promise<Terminal> {
  const client = dfosWords([
    "client",
    "--user=alice",
    `--known-hosts=${knownHosts}`,
    ...flags,
    "pwd",
  ]);
  const terminal = await Terminal.start(["ip", "netns", "exec", namespace, ...client], {
    env: { DFOS_PASSWORD: USERS.alice },
  });
  await terminal.expect("Connect to which one (1, or Enter for 127.0.0.1:33000)?");
  return terminal;
}

/** A program in `namespace` holding UDP port 5353 without sharing it; dispose to end it. */
function holdPort(namespace: string) {
  const script = "import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n" +
    "s.bind(('0.0.0.0',5353))\nprint('bound',flush=True)\ntime.sleep(60)";
  const child = new Deno.Command("ip", {
    args: ["netns", "exec", namespace, "/usr/bin/python3", "-c", script],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const output = collectText(child.stdout);
  return {
    ready: waitFor(() => output.text().includes("bound"), 10_000, "the port to be held"),
    async [Symbol.asyncDispose]() {
      child.kill("SIGKILL");
      await child.status;
      await output.done;
    },
  };
}

/** The UDP sockets on port 5353 in namespace `name`, with their processes (`ss`). */
function mdnsSockets(name: string) {
  return run("ip", ["netns", "exec", name, "ss", "-Huanp", "sport = :5353"]);
}
