/**
 * Every message of the protocol (PROTOCOL.md §5), declared once as a list of
 * typed fields. {@link encode} and {@link decode} work from these
 * declarations, so a message's layout is written down in exactly one place.
 *
 * `Data` frames are the exception: their payload is the raw bytes, and
 * {@link writeDataHeader} frames them in place without copying.
 *
 * @module
 */

import { ByteReader, ByteWriter } from "./bytes.ts";
import {
  FRAME_HEADER_SIZE,
  MAX_BATCH_BYTES,
  MAX_BATCH_FILES,
  MAX_CREDENTIAL_BYTES,
  MAX_JOURNAL_ID_BYTES,
  MAX_LISTING_ENTRIES,
  MAX_PARTIALS_LISTED,
  MAX_PATH_BYTES,
  MAX_TEXT_BYTES,
  MAX_TREE_ENTRIES,
  MAX_WHOLE_FILE_SIZE,
  MESSAGE_TYPE,
  type MessageName,
} from "./constants.ts";
import { ProtocolError } from "./protocol_error.ts";

/** One received frame. `payload` may be a view into the reader's buffer. */
export interface Frame {
  type: number;
  id: number;
  payload: Uint8Array;
}

/** How one field is written and read. */
export interface FieldCodec<T> {
  write(writer: ByteWriter, value: T): void;
  read(reader: ByteReader): T;
}

const u16: FieldCodec<number> = { write: (w, v) => w.u16(v), read: (r) => r.u16() };
const u32: FieldCodec<number> = { write: (w, v) => w.u32(v), read: (r) => r.u32() };
const u64: FieldCodec<number> = { write: (w, v) => w.u64(v), read: (r) => r.u64() };

const bool: FieldCodec<boolean> = {
  write: (w, v) => w.u8(v ? 1 : 0),
  read: (r) => {
    const value = r.u8();
    if (value > 1) throw new ProtocolError(`boolean field holds ${value}`);
    return value === 1;
  },
};

function text(maxBytes: number): FieldCodec<string> {
  return { write: (w, v) => w.string(v, maxBytes), read: (r) => r.string(maxBytes) };
}

function list<T>(item: FieldCodec<T>, maxItems: number): FieldCodec<T[]> {
  return {
    write: (w, values) => {
      if (values.length > maxItems) throw new RangeError(`list of ${values.length} > ${maxItems}`);
      w.u32(values.length);
      for (const value of values) item.write(w, value);
    },
    read: (r) => {
      const count = r.u32();
      if (count > maxItems) throw new ProtocolError(`list of ${count} items exceeds ${maxItems}`);
      return Array.from({ length: count }, () => item.read(r));
    },
  };
}

const sha256: FieldCodec<Uint8Array> = {
  write: (w, v) => {
    if (v.length !== 32) throw new RangeError("a SHA-256 digest is 32 bytes");
    w.bytes(v);
  },
  read: (r) => r.bytes(32).slice(),
};

/** A u32 byte count, at most `maxBytes`, then that many bytes (a view into the frame). */
function blob(maxBytes: number): FieldCodec<Uint8Array> {
  return {
    write: (w, v) => {
      if (v.length > maxBytes) throw new RangeError(`${v.length} bytes > ${maxBytes}`);
      w.u32(v.length).bytes(v);
    },
    read: (r) => {
      const length = r.u32();
      if (length > maxBytes) {
        throw new ProtocolError(`byte field of ${length} bytes exceeds the limit of ${maxBytes}`);
      }
      return r.bytes(length);
    },
  };
}

/** Entry kinds on the wire (PROTOCOL.md §5.3); 4 only where both ends list {@link SYMLINK_CAPABILITY}. */
export const ENTRY_KIND = { file: 1, directory: 2, other: 3, symlink: 4 } as const;
type EntryKindName = keyof typeof ENTRY_KIND;

/** The capability both ends list to use entry kind 4 (a symbolic link, listed as itself). */
export const SYMLINK_CAPABILITY = "symlink";

const entryKind: FieldCodec<EntryKindName> = {
  write: (w, v) => w.u8(ENTRY_KIND[v]),
  read: (r) => {
    const value = r.u8();
    const name = (Object.keys(ENTRY_KIND) as EntryKindName[]).find((k) => ENTRY_KIND[k] === value);
    if (!name) throw new ProtocolError(`unknown entry kind ${value}`);
    return name;
  },
};

/** The capability both ends list for entries to carry their permission bits (PROTOCOL.md §5.3). */
export const MODE_CAPABILITY = "mode";

/** A directory entry as carried by `Listing` and `Attributes`. */
export interface WireEntry {
  name: string;
  kind: EntryKindName;
  size: number;
  mtimeMs: number;
  /**
   * Permission bits (at most 0o777; 0: unknown). On the wire only where
   * both ends list {@link MODE_CAPABILITY}; absent from entries decoded
   * without it, and ignored when encoding without it.
   */
  mode?: number;
}

const entry: FieldCodec<WireEntry> = record({
  name: text(MAX_PATH_BYTES),
  kind: entryKind,
  size: u64,
  mtimeMs: u64,
});

/** An entry followed by its `mode`: the layout where both ends list {@link MODE_CAPABILITY}. */
const entryWithMode: FieldCodec<WireEntry> = {
  write: (w, v) => {
    entry.write(w, v);
    w.u16(v.mode ?? 0);
  },
  read: (r) => ({ ...entry.read(r), mode: r.u16() }),
};

type Fields = Record<string, FieldCodec<unknown>>;
type ValueOf<F extends Fields> = { [K in keyof F]: F[K] extends FieldCodec<infer V> ? V : never };

function record<F extends Fields>(fields: F): FieldCodec<ValueOf<F>> {
  const names = Object.keys(fields) as (keyof F & string)[];
  return {
    write: (w, value) => {
      for (const name of names) fields[name].write(w, value[name]);
    },
    read: (r) => {
      const value = {} as Record<string, unknown>;
      for (const name of names) value[name] = fields[name].read(r);
      return value as ValueOf<F>;
    },
  };
}

/** A message's type byte, name and field layout. */
export interface MessageSpec<T> {
  readonly type: number;
  readonly name: MessageName;
  readonly codec: FieldCodec<T>;
}

function message<F extends Fields>(name: MessageName, fields: F): MessageSpec<ValueOf<F>> {
  return { type: MESSAGE_TYPE[name], name, codec: record(fields) };
}

const path = text(MAX_PATH_BYTES);

/** A partial upload as carried by `PartialList` (PROTOCOL.md §5.8). */
export interface WirePartial {
  id: string;
  /** "" when the server does not know it (and then size and mtimeMs are 0). */
  path: string;
  size: number;
  mtimeMs: number;
  received: number;
  writtenMs: number;
  active: boolean;
}

const partial: FieldCodec<WirePartial> = record({
  id: path,
  path,
  size: u64,
  mtimeMs: u64,
  received: u64,
  writtenMs: u64,
  active: bool,
});

/** A SHA-256 that may be missing: a u32 count of 0 (none) or 32, then the digest. */
const digest: FieldCodec<Uint8Array> = {
  write: (w, v) => {
    if (v.length !== 0 && v.length !== 32) throw new RangeError("a digest is 0 or 32 bytes");
    w.u32(v.length).bytes(v);
  },
  read: (r) => {
    const length = r.u32();
    if (length !== 0 && length !== 32) throw new ProtocolError(`a digest of ${length} bytes`);
    return r.bytes(length).slice();
  },
};

/** A u8 holding one of `names`' values. */
function enumeration<N extends string>(what: string, names: Record<N, number>): FieldCodec<N> {
  const byValue = new Map(Object.entries(names).map(([name, value]) => [value, name as N]));
  return {
    write: (w, v) => w.u8(names[v]),
    read: (r) => {
      const value = r.u8();
      const name = byValue.get(value);
      if (name === undefined) throw new ProtocolError(`unknown ${what} ${value}`);
      return name;
    },
  };
}

/** Path states a condition names (PROTOCOL.md §5.9). */
export const EXPECTED_STATE = { absent: 0, file: 1, directory: 2 } as const;

/** What a conditional request expects at its path; `sha256` is set for a file only. */
export interface WireCondition {
  state: keyof typeof EXPECTED_STATE;
  sha256: Uint8Array;
}

const condition: FieldCodec<WireCondition> = record({
  state: enumeration("condition state", EXPECTED_STATE),
  sha256: digest,
});

/** One entry of `TreeEntries` (PROTOCOL.md §5.9). */
export interface WireTreeEntry {
  /** Relative to the listed folder. */
  path: string;
  kind: EntryKindName;
  size: number;
  mtimeMs: number;
  /** The file's SHA-256; empty for anything else. */
  sha256: Uint8Array;
}

const treeEntry: FieldCodec<WireTreeEntry> = record({
  path: text(MAX_PATH_BYTES),
  kind: entryKind,
  size: u64,
  mtimeMs: u64,
  sha256: digest,
});

/** Journal operations on the wire. */
export const CHANGE_OP = { put: 1, mkdir: 2, delete: 3, rename: 4 } as const;
/** What a change left at its path; `none` for a delete or a rename. */
export const CHANGE_KIND = { none: 0, file: 1, directory: 2 } as const;

/** One change of `ChangeList` (PROTOCOL.md §5.9). */
export interface WireChange {
  sequence: number;
  op: keyof typeof CHANGE_OP;
  /** Absolute: the path changed, or where a rename went. */
  path: string;
  /** Where a rename came from; "" otherwise. */
  from: string;
  kind: keyof typeof CHANGE_KIND;
  size: number;
  mtimeMs: number;
  /** The file's SHA-256; empty when not a file or not known. */
  sha256: Uint8Array;
}

const change: FieldCodec<WireChange> = record({
  sequence: u64,
  op: enumeration("change operation", CHANGE_OP),
  path: text(MAX_PATH_BYTES),
  from: text(MAX_PATH_BYTES),
  kind: enumeration("change kind", CHANGE_KIND),
  size: u64,
  mtimeMs: u64,
  sha256: digest,
});

const journalId = text(MAX_JOURNAL_ID_BYTES);

/** One file of `WriteFiles` (PROTOCOL.md §5.5.2); its bytes follow the others' in `content`. */
export interface WireBatchFile {
  path: string;
  mtimeMs: number;
  /** Bytes of `content` that are this file's, at most {@link MAX_WHOLE_FILE_SIZE}. */
  size: number;
  sha256: Uint8Array;
}

const batchFile: FieldCodec<WireBatchFile> = record({
  path: text(MAX_PATH_BYTES),
  mtimeMs: u64,
  size: u32,
  sha256,
});

/** One file of `WriteFilesIf` (PROTOCOL.md §5.9.4): a `WriteFiles` file and its condition. */
export interface WireConditionalFile extends WireBatchFile {
  expected: WireCondition;
}

const conditionalFile: FieldCodec<WireConditionalFile> = record({
  path: text(MAX_PATH_BYTES),
  mtimeMs: u64,
  size: u32,
  sha256,
  expected: condition,
});

/** What became of one file of a `WriteFiles`: code 0 stored, else a status as `Error` carries it. */
export interface WireFileResult {
  code: number;
  message: string;
}

const fileResult: FieldCodec<WireFileResult> = record({
  code: u16,
  message: text(MAX_TEXT_BYTES),
});

/**
 * One file of `FileContents` (PROTOCOL.md §5.4.1): code 0 and its bytes in
 * `content` (`size` of them, after the files before it), or a status (its
 * bytes absent; `size` the file's where known, as for TOO_LARGE).
 */
export interface WireFileContent extends WireFileResult {
  size: number;
  mtimeMs: number;
  /** SHA-256 of the bytes sent; empty for a file that failed. */
  sha256: Uint8Array;
}

const fileContent: FieldCodec<WireFileContent> = record({
  code: u16,
  message: text(MAX_TEXT_BYTES),
  size: u64,
  mtimeMs: u64,
  sha256: digest,
});

/** The message table. Field order here is the order on the wire. */
export const Messages = {
  Hello: message("Hello", {
    magic: u32,
    version: u16,
    software: text(MAX_TEXT_BYTES),
    capabilities: list(text(64), 64),
  }),
  Welcome: message("Welcome", {
    version: u16,
    serverName: text(MAX_TEXT_BYTES),
    capabilities: list(text(64), 64),
    maxFrameSize: u32,
    chunkSize: u32,
  }),
  Queued: message("Queued", { position: u32, waiting: u32 }),
  Auth: message("Auth", { user: text(MAX_CREDENTIAL_BYTES), password: text(MAX_CREDENTIAL_BYTES) }),
  AuthOk: message("AuthOk", { sessionId: text(64), cwd: path }),
  Notice: message("Notice", { code: u16, message: text(MAX_TEXT_BYTES) }),
  Goodbye: message("Goodbye", {}),
  Changed: message("Changed", { journalId, sequence: u64 }),

  List: message("List", { path }),
  Stat: message("Stat", { path }),
  Mkdir: message("Mkdir", { path, parents: bool }),
  Rmdir: message("Rmdir", { path }),
  Remove: message("Remove", { path, recursive: bool }),
  Rename: message("Rename", { from: path, to: path, overwrite: bool }),
  Chdir: message("Chdir", { path }),
  SetMtime: message("SetMtime", { path, mtimeMs: u64 }),
  ListPartials: message("ListPartials", { path }),
  DiscardPartials: message("DiscardPartials", { path, id: path, all: bool }),
  ListTree: message("ListTree", { path }),
  Changes: message("Changes", { path, journalId, sequence: u64, watch: bool }),
  RemoveIf: message("RemoveIf", { path, expected: condition }),
  RenameIf: message("RenameIf", { from: path, to: path, expected: condition }),
  Read: message("Read", { path, offset: u64, length: u64, ifSize: u64, ifMtimeMs: u64 }),
  Write: message("Write", { path, size: u64, mtimeMs: u64, overwrite: bool, resume: bool }),
  WriteFile: message("WriteFile", {
    path,
    mtimeMs: u64,
    overwrite: bool,
    sha256,
    content: blob(MAX_WHOLE_FILE_SIZE),
  }),
  WriteIf: message("WriteIf", {
    path,
    size: u64,
    mtimeMs: u64,
    resume: bool,
    expected: condition,
  }),
  WriteFileIf: message("WriteFileIf", {
    path,
    mtimeMs: u64,
    sha256,
    content: blob(MAX_WHOLE_FILE_SIZE),
    expected: condition,
  }),

  ReadFiles: message("ReadFiles", { paths: list(path, MAX_BATCH_FILES) }),
  WriteFiles: message("WriteFiles", {
    overwrite: bool,
    files: list(batchFile, MAX_BATCH_FILES),
    content: blob(MAX_BATCH_BYTES),
  }),
  WriteFilesIf: message("WriteFilesIf", {
    files: list(conditionalFile, MAX_BATCH_FILES),
    content: blob(MAX_BATCH_BYTES),
  }),

  DataEnd: message("DataEnd", { sha256 }),
  Cancel: message("Cancel", {}),

  Ok: message("Ok", {}),
  Error: message("Error", { code: u16, message: text(MAX_TEXT_BYTES) }),
  Listing: message("Listing", { entries: list(entry, MAX_LISTING_ENTRIES), more: bool }),
  Attributes: message("Attributes", { path, entry }),
  WorkingDirectory: message("WorkingDirectory", { path }),
  ReadInfo: message("ReadInfo", { size: u64, mtimeMs: u64, offset: u64, length: u64 }),
  WriteReady: message("WriteReady", { offset: u64 }),
  PartialList: message("PartialList", {
    entries: list(partial, MAX_PARTIALS_LISTED),
    more: bool,
    count: u32,
    bytes: u64,
  }),
  PartialsDiscarded: message("PartialsDiscarded", { count: u32, bytes: u64, busy: u32 }),
  TreeEntries: message("TreeEntries", {
    path,
    journalId,
    sequence: u64,
    entries: list(treeEntry, MAX_TREE_ENTRIES),
    more: bool,
  }),
  ChangeList: message("ChangeList", {
    changes: list(change, MAX_TREE_ENTRIES),
    more: bool,
    sequence: u64,
  }),
  FileResults: message("FileResults", { results: list(fileResult, MAX_BATCH_FILES) }),
  FileContents: message("FileContents", {
    files: list(fileContent, MAX_BATCH_FILES),
    content: blob(MAX_BATCH_BYTES),
  }),
} as const;

/**
 * `Listing` and `Attributes` as laid out on a connection where both ends
 * list {@link MODE_CAPABILITY}: the same messages and type bytes, each
 * entry followed by its `mode` (PROTOCOL.md §5.3).
 */
export const MessagesWithModes = {
  Listing: message("Listing", { entries: list(entryWithMode, MAX_LISTING_ENTRIES), more: bool }),
  Attributes: message("Attributes", { path, entry: entryWithMode }),
} as const;

/** The `Listing` and `Attributes` layouts of a connection: with modes if both ends list `mode`. */
export function entryMessages(modes: boolean): typeof MessagesWithModes {
  return modes ? MessagesWithModes : Messages;
}

/** The decoded value of a message spec. */
export type MessageOf<S> = S extends MessageSpec<infer T> ? T : never;

/** Encodes one complete frame of `spec` for request `id`. */
export function encode<T>(spec: MessageSpec<T>, id: number, value: T): Uint8Array {
  const writer = new ByteWriter(spec.type, id);
  spec.codec.write(writer, value);
  return writer.finish();
}

/** Decodes `frame` as `spec`; wrong type, truncation or trailing bytes are a {@link ProtocolError}. */
export function decode<T>(spec: MessageSpec<T>, frame: Frame): T {
  if (frame.type !== spec.type) {
    throw new ProtocolError(`expected ${spec.name}, got ${messageName(frame.type)}`);
  }
  const reader = new ByteReader(frame.payload);
  const value = spec.codec.read(reader);
  reader.end(spec.name);
  return value;
}

const NAMES = new Map<number, string>(
  Object.entries(MESSAGE_TYPE).map(([name, type]) => [type, name]),
);

/** Human name of a type byte, for errors and logs. */
export function messageName(type: number): string {
  return NAMES.get(type) ?? `unknown type 0x${type.toString(16).padStart(2, "0")}`;
}

/**
 * Writes a `Data` header into the first {@link FRAME_HEADER_SIZE} bytes of
 * `frame`, whose payload (`length` bytes) follows. Returns the frame view.
 */
export function writeDataHeader(frame: Uint8Array, id: number, length: number): Uint8Array {
  const view = new DataView(frame.buffer, frame.byteOffset, FRAME_HEADER_SIZE);
  view.setUint32(0, length + FRAME_HEADER_SIZE - 4);
  view.setUint8(4, MESSAGE_TYPE.Data);
  view.setUint32(5, id);
  return frame.subarray(0, FRAME_HEADER_SIZE + length);
}

/**
 * The bytes of each file of a many-files message (`WriteFiles`,
 * `WriteFilesIf`, `FileContents`), `sizes[i]` of them after those before it, each a view
 * into `content`; sizes over the whole-file limit, or not adding up to the
 * content, are a {@link ProtocolError} about message `name`.
 */
export function splitContent(
  name: MessageName,
  sizes: number[],
  content: Uint8Array,
): Uint8Array[] {
  let offset = 0;
  const parts = sizes.map((size) => {
    if (size > MAX_WHOLE_FILE_SIZE) {
      throw new ProtocolError(`a file of ${size} bytes in ${name} exceeds ${MAX_WHOLE_FILE_SIZE}`);
    }
    const part = content.subarray(offset, offset + size);
    offset += size;
    return part;
  });
  if (offset !== content.length) {
    throw new ProtocolError(
      `${name} announces ${offset} bytes of files but carries ${content.length}`,
    );
  }
  return parts;
}

/** The files of a decoded `WriteFiles` or `WriteFilesIf` with their content ({@link splitContent}). */
export function batchContents(
  request: { files: WireBatchFile[]; content: Uint8Array },
  name: "WriteFiles" | "WriteFilesIf" = "WriteFiles",
): Uint8Array[] {
  return splitContent(name, request.files.map((file) => file.size), request.content);
}
