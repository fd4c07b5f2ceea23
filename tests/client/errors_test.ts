import assert from "node:assert/strict";
import {
  CancelledError,
  connectionEnded,
  ConnectionError,
  connectionLostReason,
  EXIT,
  exitCodeFor,
  LocalError,
  localError,
  reasonOf,
  RemoteError,
  UsageError,
} from "../../src/client/errors.ts";
import { STATUS, type StatusName } from "../../src/protocol/status.ts";
import { ClosedMidFrame, ProtocolError } from "../../src/protocol/protocol_error.ts";

const CONNECTION_STATUSES: StatusName[] = [
  "SERVER_BUSY",
  "SESSION_LIMIT",
  "SHUTTING_DOWN",
  "PROTOCOL_ERROR",
  "UNSUPPORTED_VERSION",
  "TIMEOUT",
];

Deno.test("the exit codes are the documented numbers", () => {
  assert.deepEqual(EXIT, { OK: 0, FAILED: 1, USAGE: 2, AUTH: 3, CONNECTION: 4, INTERRUPTED: 130 });
});

Deno.test("AUTH_FAILED exits 3", () => {
  assert.equal(exitCodeFor(new RemoteError(STATUS.AUTH_FAILED, "denied")), 3);
});

Deno.test("busy, session limit, shutdown, protocol, version and timeout statuses exit 4", () => {
  for (const name of CONNECTION_STATUSES) {
    assert.equal(exitCodeFor(new RemoteError(STATUS[name], name)), 4, name);
  }
});

Deno.test("every other status, known or not, exits 1", () => {
  const others = (Object.keys(STATUS) as StatusName[])
    .filter((name) => name !== "AUTH_FAILED" && !CONNECTION_STATUSES.includes(name));
  assert.ok(others.includes("NOT_FOUND") && others.includes("CHECKSUM_MISMATCH"));
  for (const name of others) {
    assert.equal(exitCodeFor(new RemoteError(STATUS[name], name)), 1, name);
  }
  assert.equal(exitCodeFor(new RemoteError(999, "from a newer server")), 1);
});

Deno.test("ConnectionError exits 4, UsageError 2, CancelledError 130, anything else 1", () => {
  assert.equal(exitCodeFor(new ConnectionError("refused")), 4);
  assert.equal(exitCodeFor(new CancelledError()), 130);
  assert.equal(exitCodeFor(new UsageError("usage: ls")), 2);
  assert.equal(exitCodeFor(new LocalError("x: no such local file")), 1);
  assert.equal(exitCodeFor(new Error("boom")), 1);
  assert.equal(exitCodeFor("a string"), 1);
  assert.equal(exitCodeFor(undefined), 1);
});

Deno.test("RemoteError names its status, including codes this build does not know", () => {
  const error = new RemoteError(STATUS.NOT_FOUND, "no such file");
  assert.equal(error.status, "NOT_FOUND");
  assert.equal(error.message, "no such file");
  assert.equal(error.name, "RemoteError");
  assert.equal(new RemoteError(999, "?").status, "UNKNOWN_999");
});

Deno.test("reasonOf gives an error's message or the thrown value as text", () => {
  assert.equal(reasonOf(new Error("disk full")), "disk full");
  assert.equal(reasonOf("plain"), "plain");
  assert.equal(reasonOf(42), "42");
});

Deno.test("localError turns filesystem errors into one-line LocalErrors", () => {
  const cases: [Error, string][] = [
    [new Deno.errors.NotFound("x"), "a.txt: no such local file or directory"],
    [new Deno.errors.AlreadyExists("x"), "a.txt: already exists locally"],
    [new Deno.errors.PermissionDenied("x"), "a.txt: permission denied"],
    [new Deno.errors.IsADirectory("x"), "a.txt: is a directory"],
  ];
  for (const [error, message] of cases) {
    const local = localError(error, "a.txt");
    assert.ok(local instanceof LocalError);
    assert.equal(local.message, message);
  }
  const other = new Error("odd");
  assert.equal(localError(other, "a.txt"), other);
});

/** What the TLS library (rustls, through Deno) says when a peer closes without close_notify. */
const TLS_EOF = "peer closed connection without sending TLS close_notify: " +
  "https://docs.rs/rustls/latest/rustls/manual/_03_howto/index.html#unexpected-eof";

Deno.test("a TLS end without close_notify reads as the server closing the connection, without the URL", () => {
  for (const error of [new Deno.errors.UnexpectedEof(TLS_EOF), new Error(TLS_EOF)]) {
    assert.equal(connectionLostReason(error), "the server closed the connection");
    const ended = connectionEnded(error, false);
    assert.ok(ended instanceof ConnectionError);
    assert.equal(ended.message, "connection lost: the server closed the connection");
  }
});

Deno.test("after the server announced its shutdown, any end of the connection is 'the server shut down'", () => {
  for (
    const cause of [
      undefined,
      new Deno.errors.UnexpectedEof(TLS_EOF),
      new Deno.errors.ConnectionReset("reset"),
      new ClosedMidFrame(),
    ]
  ) {
    assert.equal(connectionEnded(cause, true).message, "the server shut down");
  }
});

Deno.test("an end nobody announced says what happened to the connection", () => {
  assert.equal(connectionEnded(undefined, false).message, "connection closed by the server");
  assert.equal(
    connectionEnded(new Deno.errors.ConnectionReset("os error 104"), false).message,
    "connection lost: the connection was reset",
  );
  assert.equal(
    connectionEnded(new ClosedMidFrame(), false).message,
    "connection lost: the server closed the connection",
  );
  assert.equal(
    connectionEnded(new ProtocolError("frame length 3 is shorter than a frame header"), false)
      .message,
    "protocol error: frame length 3 is shorter than a frame header",
  );
});
