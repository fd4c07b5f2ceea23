/**
 * The object store under the S3 backend: exactly the operations a DFOS
 * backend needs of a bucket, whatever client speaks to it. Keys are relative
 * to the store's prefix (`s3://BUCKET/PREFIX`): a store never reads, lists or
 * deletes anything outside it.
 *
 * Objects are immutable once stored: small ones are put whole, large ones
 * become multipart uploads whose parts can be listed again by another node to
 * resume. Reads are byte ranges streamed as they arrive, never buffered whole.
 * Every failure is an {@link ObjectStoreError} of one of a few kinds.
 *
 * @module
 */

/** What went wrong with a request, as far as a caller must tell kinds apart. */
export type ObjectStoreErrorKind =
  /** No such object or multipart upload (or bucket). */
  | "not-found"
  /** The store did not answer in time, or could not be reached: worth retrying later. */
  | "unreachable"
  /** The store refused the credentials or the access. */
  | "refused"
  /** Anything else: a bad request, an error of the store. */
  | "other";

/** A failed object-store request. The message names the endpoint and bucket, never a secret. */
export class ObjectStoreError extends Error {
  override name = "ObjectStoreError";
  constructor(
    readonly kind: ObjectStoreErrorKind,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  /** Whether the same request may succeed later unchanged (the store was unreachable). */
  get retryable(): boolean {
    return this.kind === "unreachable";
  }
}

/** An object as HEAD and listings describe it. */
export interface ObjectInfo {
  /** Key under the store's prefix. */
  key: string;
  /** Bytes. */
  size: number;
  /** When it was stored, ms since the epoch. */
  lastModifiedMs: number;
}

/** What {@link ObjectStore.head} says of one object. */
export interface ObjectHead extends ObjectInfo {
  /** The store's tag of the content (quotes removed). */
  etag: string;
}

/** A byte range of an object being read. */
export interface ObjectRead {
  /** The whole object's size, whatever the range. */
  size: number;
  /** The range's bytes as they arrive; cancel it to stop early. */
  body: ReadableStream<Uint8Array>;
}

/** The range {@link ObjectStore.read} reads. */
export interface ReadRange {
  /** First byte. Default 0. */
  offset?: number;
  /** Bytes from `offset`. Default: to the end. */
  length?: number;
}

/** One stored part of a multipart upload. */
export interface UploadedPart {
  /** 1 to {@link MAX_PARTS}. */
  partNumber: number;
  /** The store's tag of the part, needed to complete the upload. */
  etag: string;
  /** Bytes. */
  size: number;
}

/** A multipart upload not yet completed or aborted. */
export interface MultipartUploadInfo {
  key: string;
  uploadId: string;
  /** When it was created, ms since the epoch (for aborting abandoned ones). */
  initiatedMs: number;
}

/** Options of a paged listing. */
export interface ListOptions {
  /** Where the previous page ended (its `next`). Default: the first page. */
  after?: string;
  /** At most this many entries. Default and upper bound {@link MAX_LIST_PAGE}. */
  limit?: number;
}

/** One page of a listing. */
export interface ListPage<T> {
  entries: T[];
  /** Pass as `after` for the next page; undefined on the last page. */
  next?: string;
}

/** Entries per page at most (S3's own bound). */
export const MAX_LIST_PAGE = 1000;

/** Keys per {@link ObjectStore.deleteMany} request at most (S3's own bound). */
export const MAX_DELETE_BATCH = 1000;

/** Parts of one multipart upload at most. */
export const MAX_PARTS = 10_000;

/** Size every part but the last must have at least (S3's rule). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;

/** A bucket, or the part of it under one prefix, as DFOS uses it. */
export interface ObjectStore {
  /** "ENDPOINT bucket BUCKET/PREFIX", for log lines and messages; no secret. */
  readonly description: string;
  /** Stores `bytes` as the object `key` (small objects; replaces one of that key). */
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** Starts a multipart upload of `key`; resolves to its upload id. */
  createMultipartUpload(key: string): Promise<string>;
  /** Stores part `partNumber` of an upload; resolves to its tag. */
  uploadPart(key: string, uploadId: string, partNumber: number, bytes: Uint8Array): Promise<string>;
  /** The parts stored so far, by part number (to resume on any node). */
  listParts(key: string, uploadId: string): Promise<UploadedPart[]>;
  /** Makes the object of `parts` (in order); resolves to its tag. Not found: no such upload. */
  completeMultipartUpload(
    key: string,
    uploadId: string,
    parts: readonly Pick<UploadedPart, "partNumber" | "etag">[],
  ): Promise<string>;
  /** Drops an upload and its parts; an upload already gone is no error. */
  abortMultipartUpload(key: string, uploadId: string): Promise<void>;
  /** Reads a byte range of `key` as a stream, with the object's size. */
  read(key: string, range?: ReadRange): Promise<ObjectRead>;
  /** Describes `key`; not found if there is no such object. */
  head(key: string): Promise<ObjectHead>;
  /** Deletes `key`; a key already gone is no error. */
  delete(key: string): Promise<void>;
  /** Deletes every one of `keys` (any number, sent in batches); keys already gone are no error. */
  deleteMany(keys: readonly string[]): Promise<void>;
  /** One page of the objects whose key starts with `prefix`, in key order. */
  list(prefix: string, options?: ListOptions): Promise<ListPage<ObjectInfo>>;
  /** One page of the unfinished multipart uploads whose key starts with `prefix`. */
  listMultipartUploads(
    prefix: string,
    options?: ListOptions,
  ): Promise<ListPage<MultipartUploadInfo>>;
}
