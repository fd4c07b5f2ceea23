/**
 * The schema of the shared state, as numbered migrations (migrations.ts
 * applies them). Paths are virtual paths (`/docs/a.txt`) stored with the "C"
 * collation, so that they compare and sort by their UTF-8 bytes as the local
 * backend's listings do, and `[path/, path0)` is everything inside a folder
 * ('0' follows '/').
 *
 * - `storage_users`: one row per user with a storage; their journal's id and
 *   last sequence (the row writers lock to number changes).
 * - `objects`: the immutable objects of the object store, each recorded
 *   `pending` before its bytes are stored, `stored` after, `deleting` once
 *   the collector has claimed it (the SHA-256 of an upload's object is known
 *   once it is complete). Content is shared only within a user: sharing
 *   across users would tell one user what another stores.
 * - `entries`: names: every file and folder of every user, the root "/"
 *   included; a file names a stored object.
 * - `uploads`, `upload_parts`: multipart uploads in progress and the parts
 *   the object store has confirmed.
 * - `journal_changes`, `journal_index`: the sync change journal (journal.ts).
 * - `users`: who may log in, with the scrypt hash of their password as the
 *   users file stores it (never plaintext), migration 10 (user_records.ts).
 * - `session_leases`: one row per open session of every node, for the
 *   per-user session limit across nodes; a lease its node stops renewing
 *   expires (session_leases.ts), migration 11.
 * - `login_failures`: failed logins and lockouts per user name and per
 *   address (login_failures.ts), migration 12.
 * - `quota_reservations`: the bytes each upload under way on any node has
 *   reserved of its user's quota, held by its node's renewals like a session
 *   lease (quota_reservations.ts), migration 13.
 * - `uploads.tail_object_id` (version 20): the bytes of an interrupted
 *   upload's unfinished part, kept as a small object of their own so that
 *   the upload resumes from the last byte received, not the last whole part.
 *
 * Times the nodes compare (expiries, lockouts) are the database's `now()`,
 * so the nodes' clocks need not agree.
 *
 * @module
 */

import type { Migration } from "./migrations.ts";

/** Longest path kept, in UTF-8 bytes (the protocol's MAX_VIRTUAL_PATH_BYTES). */
const PATH_CHECK = "octet_length(path) BETWEEN 1 AND 3072";

const INITIAL = `
  CREATE TABLE storage_users (
    user_name text PRIMARY KEY CHECK (octet_length(user_name) BETWEEN 1 AND 255),
    journal_id uuid NOT NULL,
    last_sequence bigint NOT NULL DEFAULT 0
  );
  CREATE TABLE objects (
    id bigserial PRIMARY KEY,
    user_name text NOT NULL REFERENCES storage_users ON DELETE CASCADE,
    key text NOT NULL UNIQUE CHECK (octet_length(key) BETWEEN 1 AND 1024),
    size bigint NOT NULL CHECK (size >= 0),
    sha256 text CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    state text NOT NULL CHECK (state IN ('pending', 'stored', 'deleting')),
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (state <> 'stored' OR sha256 IS NOT NULL)
  );
  CREATE INDEX objects_by_content ON objects (user_name, sha256, size) WHERE state = 'stored';
  CREATE INDEX objects_by_age ON objects (created_at);
  CREATE TABLE entries (
    user_name text NOT NULL REFERENCES storage_users ON DELETE CASCADE,
    path text COLLATE "C" NOT NULL CHECK (${PATH_CHECK}),
    parent text COLLATE "C",
    name text COLLATE "C" NOT NULL,
    kind text NOT NULL CHECK (kind IN ('file', 'directory')),
    size bigint NOT NULL CHECK (size >= 0),
    mtime_ms bigint NOT NULL,
    sha256 text CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    object_id bigint REFERENCES objects,
    PRIMARY KEY (user_name, path),
    CHECK ((kind = 'file') = (object_id IS NOT NULL)),
    CHECK ((path = '/') = (parent IS NULL))
  );
  CREATE INDEX entries_by_parent ON entries (user_name, parent, name);
  CREATE INDEX entries_by_object ON entries (object_id);
  CREATE TABLE uploads (
    id bigserial PRIMARY KEY,
    user_name text NOT NULL REFERENCES storage_users ON DELETE CASCADE,
    path text COLLATE "C" NOT NULL CHECK (${PATH_CHECK}),
    size bigint NOT NULL CHECK (size >= 0),
    mtime_ms bigint NOT NULL,
    object_id bigint NOT NULL REFERENCES objects,
    store_upload_id text NOT NULL CHECK (octet_length(store_upload_id) BETWEEN 1 AND 1024),
    started_at timestamptz NOT NULL DEFAULT now(),
    written_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_name, path, size, mtime_ms)
  );
  CREATE INDEX uploads_by_object ON uploads (object_id);
  CREATE TABLE upload_parts (
    upload_id bigint NOT NULL REFERENCES uploads ON DELETE CASCADE,
    number integer NOT NULL CHECK (number BETWEEN 1 AND 10000),
    size bigint NOT NULL CHECK (size >= 0),
    etag text NOT NULL CHECK (octet_length(etag) <= 1024),
    PRIMARY KEY (upload_id, number)
  );
  CREATE TABLE journal_changes (
    user_name text NOT NULL REFERENCES storage_users ON DELETE CASCADE,
    sequence bigint NOT NULL,
    op text NOT NULL CHECK (op IN ('put', 'mkdir', 'delete', 'rename')),
    path text COLLATE "C" NOT NULL,
    from_path text COLLATE "C",
    kind text,
    size bigint,
    mtime_ms bigint,
    sha256 text,
    PRIMARY KEY (user_name, sequence)
  );
  CREATE TABLE journal_index (
    user_name text NOT NULL REFERENCES storage_users ON DELETE CASCADE,
    path text COLLATE "C" NOT NULL,
    kind text NOT NULL CHECK (kind IN ('file', 'directory')),
    size bigint NOT NULL,
    mtime_ms bigint NOT NULL,
    sha256 text,
    version bigint NOT NULL,
    PRIMARY KEY (user_name, path)
  );
`;

const UPLOAD_TAILS = `
  ALTER TABLE uploads ADD COLUMN tail_object_id bigint REFERENCES objects;
  CREATE INDEX uploads_by_tail ON uploads (tail_object_id);
`;

const USERS = `
  CREATE TABLE users (
    name text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_-][A-Za-z0-9._-]{0,31}$'),
    secret text NOT NULL CHECK (secret LIKE 'scrypt$%' AND octet_length(secret) <= 1024),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
  );
`;

const SESSION_LEASES = `
  CREATE TABLE session_leases (
    node_id uuid NOT NULL,
    session_id uuid NOT NULL,
    user_name text NOT NULL CHECK (octet_length(user_name) BETWEEN 1 AND 255),
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (node_id, session_id)
  );
  CREATE INDEX session_leases_by_user ON session_leases (user_name, expires_at);
`;

const LOGIN_FAILURES = `
  CREATE TABLE login_failures (
    scope text NOT NULL CHECK (scope IN ('user', 'address')),
    subject text NOT NULL CHECK (octet_length(subject) BETWEEN 0 AND 1024),
    failures integer NOT NULL CHECK (failures >= 0),
    first_at timestamptz NOT NULL,
    locked_until timestamptz NOT NULL,
    PRIMARY KEY (scope, subject)
  );
  CREATE INDEX login_failures_by_age ON login_failures (first_at);
`;

const QUOTA_RESERVATIONS = `
  CREATE TABLE quota_reservations (
    node_id uuid NOT NULL,
    reservation_id uuid NOT NULL,
    user_name text NOT NULL CHECK (octet_length(user_name) BETWEEN 1 AND 255),
    bytes bigint NOT NULL CHECK (bytes >= 0),
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (node_id, reservation_id)
  );
  CREATE INDEX quota_reservations_by_user ON quota_reservations (user_name, expires_at);
`;

/** Every migration this build knows, oldest first (10-19: users and logins; 20-29: the object store). */
export const SCHEMA_MIGRATIONS: readonly Migration[] = [
  { version: 1, name: "object storage metadata and change journal", sql: INITIAL },
  { version: 10, name: "users", sql: USERS },
  { version: 11, name: "session leases", sql: SESSION_LEASES },
  { version: 12, name: "login failures and lockouts", sql: LOGIN_FAILURES },
  { version: 13, name: "quota reservations of uploads under way", sql: QUOTA_RESERVATIONS },
  { version: 20, name: "the unfinished part of an interrupted upload", sql: UPLOAD_TAILS },
];
