/**
 * Protocol constants (PROTOCOL.md §2, §3 and §10): version, magic, limits and the
 * message type table. Shared by client and server; no I/O here.
 *
 * @module
 */

/** The protocol version this build speaks. Bumped on any incompatible change. */
export const PROTOCOL_VERSION = 1;

/** "DFOS" as a big-endian u32: the first field of `Hello`. */
export const MAGIC = 0x44464f53;

/** The TCP port servers listen on and clients connect to by default. */
export const DEFAULT_PORT = 33000;

/** Bytes before the payload: length (4), type (1), request id (4). */
export const FRAME_HEADER_SIZE = 9;

/** Largest payload of a `Data` frame a sender may use (1 MiB). */
export const MAX_CHUNK_SIZE = 1024 * 1024;

/** Largest value of the length field a receiver accepts; checked before buffering. */
export const MAX_FRAME_SIZE = MAX_CHUNK_SIZE + 64 * 1024;

/** Payload size of `Data` frames this build sends by default (256 KiB). */
export const DEFAULT_CHUNK_SIZE = 256 * 1024;

/**
 * Largest file sent whole in one `WriteFile` request (256 KiB). Larger files
 * go through `Write` and `Data`, which can resume.
 */
export const MAX_WHOLE_FILE_SIZE = DEFAULT_CHUNK_SIZE;

/** Most files one `WriteFiles` or `ReadFiles` request carries (PROTOCOL.md §5.5.2, §5.4.1). */
export const MAX_BATCH_FILES = 256;

/**
 * Most bytes of content one `WriteFiles` request or `FileContents` reply
 * carries, all its files together (1 MiB); the frame as a whole must still
 * fit {@link MAX_FRAME_SIZE}.
 */
export const MAX_BATCH_BYTES = MAX_CHUNK_SIZE;

/** Longest path field, in UTF-8 bytes, a frame may carry (a longer one is a broken frame). */
export const MAX_PATH_BYTES = 4096;

/**
 * Longest path once resolved against the working directory (PROTOCOL.md
 * §8), in UTF-8 bytes; a longer one is refused with INVALID_PATH. Below
 * {@link MAX_PATH_BYTES} so that where a server keeps the user's tree (up
 * to 1 KiB of prefix) plus the path still fits Linux's PATH_MAX of 4096.
 */
export const MAX_VIRTUAL_PATH_BYTES = 3072;

/** Longest user name or password, in UTF-8 bytes. */
export const MAX_CREDENTIAL_BYTES = 1024;

/** Longest free-text field (error messages, software names), in UTF-8 bytes. */
export const MAX_TEXT_BYTES = 4096;

/** Most entries one `Listing` frame carries; longer listings span several frames. */
export const MAX_LISTING_ENTRIES = 4096;

/** Most partial uploads one `PartialList` carries (PROTOCOL.md §5.8). */
export const MAX_PARTIALS_LISTED = 1024;

/** Most entries one `TreeEntries` frame carries, and changes one `ChangeList` (PROTOCOL.md §5.9). */
export const MAX_TREE_ENTRIES = 4096;

/** Longest journal id, in UTF-8 bytes. */
export const MAX_JOURNAL_ID_BYTES = 64;

/**
 * Message type bytes. 0x01–0x0f connection set-up, 0x10–0x2f requests,
 * 0x30–0x3f transfer streams (both directions), 0x80–0x8f replies.
 */
export const MESSAGE_TYPE = {
  Hello: 0x01,
  Welcome: 0x02,
  Queued: 0x03,
  Auth: 0x04,
  AuthOk: 0x05,
  Notice: 0x06,
  Goodbye: 0x07,
  Changed: 0x08,

  List: 0x10,
  Stat: 0x11,
  Mkdir: 0x12,
  Rmdir: 0x13,
  Remove: 0x14,
  Rename: 0x15,
  Chdir: 0x16,
  SetMtime: 0x17,
  ListPartials: 0x18,
  DiscardPartials: 0x19,
  ListTree: 0x1a,
  Changes: 0x1b,
  RemoveIf: 0x1c,
  RenameIf: 0x1d,
  Read: 0x20,
  Write: 0x21,
  WriteFile: 0x22,
  WriteIf: 0x23,
  WriteFileIf: 0x24,
  WriteFiles: 0x25,
  ReadFiles: 0x26,
  WriteFilesIf: 0x27,

  Data: 0x30,
  DataEnd: 0x31,
  Cancel: 0x32,
  DataZstd: 0x33,

  Ok: 0x80,
  Error: 0x81,
  Listing: 0x82,
  Attributes: 0x83,
  WorkingDirectory: 0x84,
  ReadInfo: 0x85,
  WriteReady: 0x86,
  PartialList: 0x87,
  PartialsDiscarded: 0x88,
  TreeEntries: 0x89,
  ChangeList: 0x8a,
  FileResults: 0x8b,
  FileContents: 0x8c,
} as const;

/** Name of a message type, e.g. `"Hello"`. */
export type MessageName = keyof typeof MESSAGE_TYPE;
