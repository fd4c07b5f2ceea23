/**
 * Representative values of every message in `Messages`, for round-trip and
 * mutation tests. The type makes a new message without samples a compile error.
 *
 * @module
 */

import {
  MAGIC,
  MAX_BATCH_FILES,
  MAX_CREDENTIAL_BYTES,
  MAX_PATH_BYTES,
  MAX_TEXT_BYTES,
  MAX_WHOLE_FILE_SIZE,
  PROTOCOL_VERSION,
} from "../../src/protocol/constants.ts";
import {
  type MessageOf,
  Messages,
  type WireChange,
  type WireEntry,
  type WirePartial,
  type WireTreeEntry,
} from "../../src/protocol/messages.ts";

/** Largest u64 this implementation carries. */
export const MAX_U64 = Number.MAX_SAFE_INTEGER;

/** A path of exactly the path limit, in two-byte characters. */
export const LONGEST_PATH = "é".repeat(MAX_PATH_BYTES / 2);
/** A credential of exactly the credential limit. */
export const LONGEST_CREDENTIAL = "p".repeat(MAX_CREDENTIAL_BYTES);
/** A free-text field of exactly the text limit, in four-byte characters. */
export const LONGEST_TEXT = "😀".repeat(MAX_TEXT_BYTES / 4);

const digest = Uint8Array.from({ length: 32 }, (_, index) => index * 7);
const content = new TextEncoder().encode("hello, 世界\n");

const entries: WireEntry[] = [
  { name: "notes.txt", kind: "file", size: 0, mtimeMs: 0 },
  { name: "photos", kind: "directory", size: 4096, mtimeMs: 1_700_000_000_000 },
  { name: "fifo", kind: "other", size: MAX_U64, mtimeMs: MAX_U64 - 1 },
  { name: "link", kind: "symlink", size: 0, mtimeMs: 1_700_000_000_001 },
  { name: "ünïcødé 文件 😀", kind: "file", size: 2 ** 32, mtimeMs: 2 ** 32 + 1 },
  { name: LONGEST_PATH, kind: "file", size: 1, mtimeMs: 1 },
];

const partials: WirePartial[] = [
  {
    id: "9f".repeat(32),
    path: "/photos/ünïcødé.jpg",
    size: 8 * 1024 * 1024,
    mtimeMs: 1_700_000_000_123,
    received: 4 * 1024 * 1024,
    writtenMs: 1_800_000_000_000,
    active: false,
  },
  { id: "", path: "", size: 0, mtimeMs: 0, received: 0, writtenMs: 0, active: true },
  {
    id: LONGEST_PATH,
    path: LONGEST_PATH,
    size: MAX_U64,
    mtimeMs: MAX_U64,
    received: MAX_U64,
    writtenMs: MAX_U64,
    active: true,
  },
];

const empty = new Uint8Array(0);
const fileExpected = { state: "file", sha256: digest } as const;
const absent = { state: "absent", sha256: empty } as const;
const folder = { state: "directory", sha256: empty } as const;
const journalId = "0f3c2a94-6d51-4e0b-9a7e-2b8c1d4e5f60";

const treeEntries: WireTreeEntry[] = [
  { path: "notes.txt", kind: "file", size: 5, mtimeMs: 1_700_000_000_000, sha256: digest },
  { path: "photos", kind: "directory", size: 0, mtimeMs: 1, sha256: empty },
  { path: "photos/link", kind: "symlink", size: 0, mtimeMs: 2, sha256: empty },
  { path: "photos/fifo", kind: "other", size: 0, mtimeMs: MAX_U64, sha256: empty },
  { path: LONGEST_PATH, kind: "file", size: MAX_U64, mtimeMs: 0, sha256: empty },
];

const changes: WireChange[] = [
  {
    sequence: 1,
    op: "put",
    path: "/a.txt",
    from: "",
    kind: "file",
    size: 5,
    mtimeMs: 1_700_000_000_000,
    sha256: digest,
  },
  {
    sequence: 2,
    op: "mkdir",
    path: "/d",
    from: "",
    kind: "directory",
    size: 0,
    mtimeMs: 3,
    sha256: empty,
  },
  {
    sequence: 3,
    op: "rename",
    path: "/b.txt",
    from: "/a.txt",
    kind: "none",
    size: 0,
    mtimeMs: 0,
    sha256: empty,
  },
  {
    sequence: MAX_U64,
    op: "delete",
    path: LONGEST_PATH,
    from: LONGEST_PATH,
    kind: "none",
    size: MAX_U64,
    mtimeMs: MAX_U64,
    sha256: empty,
  },
];

/** Samples per message name. */
export type MessageSamples = {
  [K in keyof typeof Messages]: MessageOf<(typeof Messages)[K]>[];
};

/** At least one sample per message, with empty, longest and unicode values. */
export const SAMPLES: MessageSamples = {
  Hello: [
    { magic: MAGIC, version: PROTOCOL_VERSION, software: "dfos 0.1.0", capabilities: [] },
    {
      magic: 0xffffffff,
      version: 0xffff,
      software: LONGEST_TEXT,
      capabilities: Array.from({ length: 64 }, (_, i) => `cap-${i}`.padEnd(64, "x")),
    },
    { magic: 0, version: 0, software: "", capabilities: [""] },
  ],
  Welcome: [
    {
      version: 1,
      serverName: "dfos-server",
      capabilities: ["list", "read", "write"],
      maxFrameSize: 0xffffffff,
      chunkSize: 256 * 1024,
    },
    { version: 0, serverName: "", capabilities: [], maxFrameSize: 0, chunkSize: 0 },
  ],
  Queued: [{ position: 1, waiting: 1 }, { position: 0, waiting: 0xffffffff }],
  Auth: [
    { user: "alice", password: "s3cr:et" },
    { user: "", password: "" },
    { user: LONGEST_CREDENTIAL, password: LONGEST_CREDENTIAL },
    { user: "bob", password: "pässwörd 🔑" },
  ],
  AuthOk: [{ sessionId: "a".repeat(64), cwd: "/" }, { sessionId: "", cwd: LONGEST_PATH }],
  Notice: [{ code: 0, message: "" }, { code: 0xffff, message: LONGEST_TEXT }],
  Goodbye: [{}],
  Changed: [{ journalId, sequence: 0 }, { journalId: "x".repeat(64), sequence: MAX_U64 }],
  List: [{ path: "" }, { path: "/docs/ñ" }, { path: LONGEST_PATH }],
  Stat: [{ path: "report.pdf" }],
  Mkdir: [{ path: "a/b/c", parents: true }, { path: "x", parents: false }],
  Rmdir: [{ path: "old" }],
  Remove: [{ path: "tmp", recursive: true }, { path: "", recursive: false }],
  Rename: [
    { from: "a", to: "b", overwrite: false },
    { from: LONGEST_PATH, to: LONGEST_PATH, overwrite: true },
  ],
  Chdir: [{ path: ".." }],
  SetMtime: [{ path: "photos", mtimeMs: 1_700_000_000_123 }, { path: "", mtimeMs: MAX_U64 }],
  ListPartials: [{ path: "/" }, { path: LONGEST_PATH }],
  DiscardPartials: [
    { path: "big.iso", id: "", all: false },
    { path: "/", id: "0123abcd".repeat(8), all: false },
    { path: LONGEST_PATH, id: LONGEST_PATH, all: true },
  ],
  ListTree: [{ path: "/" }, { path: LONGEST_PATH }],
  Changes: [
    { path: "/sync", journalId, sequence: 42, watch: true },
    { path: "", journalId: "", sequence: MAX_U64, watch: false },
  ],
  RemoveIf: [{ path: "a.txt", expected: fileExpected }, { path: "d", expected: folder }],
  RenameIf: [
    { from: "a", to: "b", expected: fileExpected },
    { from: LONGEST_PATH, to: LONGEST_PATH, expected: absent },
  ],
  WriteIf: [
    { path: "up.bin", size: 10, mtimeMs: 1_700_000_000_123, resume: true, expected: absent },
    { path: "", size: MAX_U64, mtimeMs: 0, resume: false, expected: fileExpected },
  ],
  WriteFileIf: [
    { path: "small.txt", mtimeMs: 1, sha256: digest, content, expected: fileExpected },
    { path: LONGEST_PATH, mtimeMs: MAX_U64, sha256: digest, content: empty, expected: absent },
  ],
  Read: [
    { path: "big.iso", offset: 0, length: 0, ifSize: 0, ifMtimeMs: 0 },
    { path: "f", offset: MAX_U64, length: MAX_U64 - 1, ifSize: 2 ** 52, ifMtimeMs: 2 ** 40 },
  ],
  Write: [
    { path: "up.bin", size: 10, mtimeMs: 1_700_000_000_123, overwrite: true, resume: false },
    { path: "", size: MAX_U64, mtimeMs: 0, overwrite: false, resume: true },
  ],
  WriteFile: [
    { path: "small.txt", mtimeMs: 1_700_000_000_123, overwrite: false, sha256: digest, content },
    {
      path: LONGEST_PATH,
      mtimeMs: MAX_U64,
      overwrite: true,
      sha256: new Uint8Array(32),
      content: new Uint8Array(MAX_WHOLE_FILE_SIZE).fill(0xa5),
    },
    { path: "", mtimeMs: 0, overwrite: false, sha256: digest, content: new Uint8Array(0) },
  ],
  DataEnd: [{ sha256: digest }, { sha256: new Uint8Array(32) }],
  Cancel: [{}],
  Ok: [{}],
  Error: [{ code: 1, message: "no such file" }, { code: 0xffff, message: "" }],
  Listing: [
    { entries: [], more: false },
    { entries, more: true },
    {
      entries: Array.from({ length: 4096 }, (_, i) => ({
        name: `f${i}`,
        kind: "file" as const,
        size: i,
        mtimeMs: i,
      })),
      more: false,
    },
  ],
  Attributes: [
    { path: "/", entry: { name: "", kind: "directory", size: 0, mtimeMs: 0 } },
    { path: "/a/link", entry: entries[2] },
  ],
  WorkingDirectory: [{ path: "/" }, { path: LONGEST_PATH }],
  ReadInfo: [
    { size: 0, mtimeMs: 0, offset: 0, length: 0 },
    { size: MAX_U64, mtimeMs: MAX_U64, offset: MAX_U64, length: MAX_U64 },
  ],
  WriteReady: [{ offset: 0 }, { offset: MAX_U64 }],
  PartialList: [
    { entries: [], more: false, count: 0, bytes: 0 },
    { entries: partials, more: true, count: 0xffffffff, bytes: MAX_U64 },
    {
      entries: Array.from({ length: 1024 }, (_, i) => ({ ...partials[0], id: `${i}` })),
      more: false,
      count: 1024,
      bytes: 1024 * 1024,
    },
  ],
  PartialsDiscarded: [{ count: 0, bytes: 0, busy: 0 }, {
    count: 0xffffffff,
    bytes: MAX_U64,
    busy: 0xffffffff,
  }],
  TreeEntries: [
    { path: "/", journalId, sequence: 0, entries: [], more: false },
    { path: LONGEST_PATH, journalId: "", sequence: MAX_U64, entries: treeEntries, more: true },
  ],
  ChangeList: [
    { changes: [], more: false, sequence: 0 },
    { changes, more: true, sequence: MAX_U64 },
  ],
  WriteFiles: [
    { overwrite: false, files: [], content: empty },
    {
      overwrite: true,
      files: [
        { path: "a/small.txt", mtimeMs: 1, size: content.length, sha256: digest },
        { path: "empty", mtimeMs: MAX_U64, size: 0, sha256: digest },
        { path: "é/ü", mtimeMs: 0, size: 3, sha256: digest },
      ],
      content: Uint8Array.of(...content, 1, 2, 3),
    },
    {
      overwrite: false,
      files: Array.from({ length: MAX_BATCH_FILES }, (_, index) => ({
        path: `f${index}`,
        mtimeMs: index,
        size: 0,
        sha256: digest,
      })),
      content: empty,
    },
  ],
  WriteFilesIf: [
    { files: [], content: empty },
    {
      files: [
        {
          path: "a/small.txt",
          mtimeMs: 1,
          size: content.length,
          sha256: digest,
          expected: { state: "file", sha256: digest },
        },
        {
          path: "empty",
          mtimeMs: MAX_U64,
          size: 0,
          sha256: digest,
          expected: { state: "absent", sha256: empty },
        },
        {
          path: "é/ü",
          mtimeMs: 0,
          size: 3,
          sha256: digest,
          expected: { state: "directory", sha256: empty },
        },
      ],
      content: Uint8Array.of(...content, 1, 2, 3),
    },
    {
      files: Array.from({ length: MAX_BATCH_FILES }, (_, index) => ({
        path: `f${index}`,
        mtimeMs: index,
        size: 0,
        sha256: digest,
        expected: { state: "absent" as const, sha256: empty },
      })),
      content: empty,
    },
  ],
  ReadFiles: [
    { paths: [] },
    { paths: ["a.txt", LONGEST_PATH, "é/ü"] },
    { paths: Array.from({ length: MAX_BATCH_FILES }, (_, index) => `f${index}`) },
  ],
  FileContents: [
    { files: [], content: empty },
    {
      files: [
        { code: 0, message: "", size: content.length, mtimeMs: MAX_U64, sha256: digest },
        {
          code: 1,
          message: "/gone: no such file or directory",
          size: 0,
          mtimeMs: 0,
          sha256: empty,
        },
        { code: 19, message: "too large", size: MAX_U64, mtimeMs: 0, sha256: empty },
        { code: 0, message: "", size: 0, mtimeMs: 1, sha256: digest },
      ],
      content,
    },
  ],
  FileResults: [
    { results: [] },
    { results: [{ code: 0, message: "" }, { code: 2, message: "/a: already exists" }] },
    { results: Array.from({ length: MAX_BATCH_FILES }, () => ({ code: 0xffff, message: "é" })) },
  ],
};
