/**
 * The {@link ObjectStore} of an S3-compatible store (Ceph's radosgw, AWS S3,
 * MinIO, R2), spoken through the AWS SDK's client (s3_client.ts). Every
 * request has a deadline, every failure one of the kinds (s3_errors.ts), and
 * reads stream (through a client of their own on `fetch`, s3_client.ts),
 * failing when the store falls silent for the idle timeout.
 *
 * @module
 */

import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import {
  type ListOptions,
  type ListPage,
  MAX_DELETE_BATCH,
  MAX_PARTS,
  type MultipartUploadInfo,
  type ObjectHead,
  type ObjectInfo,
  type ObjectRead,
  type ObjectStore,
  ObjectStoreError,
  type ReadRange,
  type UploadedPart,
} from "./object_store.ts";
import { toObjectStoreError } from "./s3_errors.ts";
import {
  checkPartNumber,
  checkRange,
  emptyStream,
  multipartEtag,
  pageSize,
  parseUploadsMarker,
  unquote,
} from "./s3_values.ts";
import { formatS3Location } from "./s3_location.ts";
import type { S3StoreSettings } from "./s3_settings.ts";
import { S3Keys } from "./s3_keys.ts";
import { newS3Client } from "./s3_client.ts";
import { watchedBody } from "./s3_read_stream.ts";

/** An object store in one bucket, under one prefix. */
export class S3ObjectStore implements ObjectStore {
  readonly description: string;
  readonly #client: S3Client;
  /** The client of reads (GET): their bodies stream through `fetch`. */
  readonly #readClient: S3Client;
  readonly #bucket: string;
  readonly #keys: S3Keys;
  readonly #requestTimeoutMs: number;
  readonly #idleTimeoutMs: number;
  readonly #secrets: string[];

  constructor(settings: S3StoreSettings) {
    const where = settings.endpoint ?? `AWS S3 (${settings.region})`;
    this.description = `${where} bucket ${formatS3Location(settings).slice("s3://".length)}`;
    this.#bucket = settings.bucket;
    this.#keys = new S3Keys(settings.prefix);
    this.#requestTimeoutMs = settings.requestTimeoutMs ?? 30_000;
    this.#idleTimeoutMs = settings.idleTimeoutMs ?? 30_000;
    const { secretAccessKey, sessionToken } = settings.credentials;
    this.#secrets = [secretAccessKey, sessionToken ?? ""];
    this.#client = newS3Client(settings);
    this.#readClient = newS3Client(settings, "fetch");
  }

  /** Sends `command` within the request deadline; failures become ObjectStoreErrors. */
  async #send<T>(what: string, send: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.#requestTimeoutMs);
    try {
      return await send(controller.signal);
    } catch (error) {
      throw toObjectStoreError(error, this.description, what, this.#secrets);
    } finally {
      clearTimeout(timer);
    }
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const Key = this.#keys.full(key);
    const command = new PutObjectCommand({
      Bucket: this.#bucket,
      Key,
      Body: bytes,
      ContentLength: bytes.length,
    });
    await this.#send(
      `put of "${key}"`,
      (abortSignal) => this.#client.send(command, { abortSignal }),
    );
  }

  async createMultipartUpload(key: string): Promise<string> {
    const command = new CreateMultipartUploadCommand({
      Bucket: this.#bucket,
      Key: this.#keys.full(key),
    });
    const reply = await this.#send(
      `start of a multipart upload of "${key}"`,
      (abortSignal) => this.#client.send(command, { abortSignal }),
    );
    if (!reply.UploadId) throw this.#malformed("the start of a multipart upload", key);
    return reply.UploadId;
  }

  async uploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    bytes: Uint8Array,
  ): Promise<string> {
    checkPartNumber(partNumber);
    const command = new UploadPartCommand({
      Bucket: this.#bucket,
      Key: this.#keys.full(key),
      UploadId: uploadId,
      PartNumber: partNumber,
      Body: bytes,
      ContentLength: bytes.length,
    });
    const reply = await this.#send(
      `upload of part ${partNumber} of "${key}"`,
      (abortSignal) => this.#client.send(command, { abortSignal }),
    );
    if (!reply.ETag) throw this.#malformed(`the upload of part ${partNumber}`, key);
    return unquote(reply.ETag);
  }

  async listParts(key: string, uploadId: string): Promise<UploadedPart[]> {
    const Key = this.#keys.full(key);
    const parts: UploadedPart[] = [];
    let marker: string | undefined;
    do {
      const command = new ListPartsCommand({
        Bucket: this.#bucket,
        Key,
        UploadId: uploadId,
        PartNumberMarker: marker,
      });
      const reply = await this.#send(
        `listing of the parts of "${key}"`,
        (abortSignal) => this.#client.send(command, { abortSignal }),
      );
      for (const part of reply.Parts ?? []) {
        const { PartNumber = 0, ETag = "", Size = 0 } = part;
        parts.push({ partNumber: PartNumber, etag: unquote(ETag), size: Size });
      }
      marker = reply.IsTruncated ? reply.NextPartNumberMarker : undefined;
    } while (marker !== undefined && parts.length < MAX_PARTS);
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  async completeMultipartUpload(
    key: string,
    uploadId: string,
    parts: readonly Pick<UploadedPart, "partNumber" | "etag">[],
  ): Promise<string> {
    const command = new CompleteMultipartUploadCommand({
      Bucket: this.#bucket,
      Key: this.#keys.full(key),
      UploadId: uploadId,
      MultipartUpload: {
        Parts: parts.map((part) => ({ PartNumber: part.partNumber, ETag: `"${part.etag}"` })),
      },
    });
    let reply;
    try {
      reply = await this.#send(
        `completion of the multipart upload of "${key}"`,
        (abortSignal) => this.#client.send(command, { abortSignal }),
      );
    } catch (error) {
      if (!(error instanceof ObjectStoreError) || error.kind === "refused") throw error;
      return await this.#completedBefore(key, uploadId, parts, error);
    }
    // radosgw may leave the reply's ETag empty; the object's HEAD has it.
    return reply.ETag ? unquote(reply.ETag) : (await this.head(key)).etag;
  }

  /**
   * After a completion failed with `failure`: the object's tag if an earlier
   * completion of these very parts made it (a reply lost, a second try), else
   * `failure`, as not-found once the upload is gone.
   */
  async #completedBefore(
    key: string,
    uploadId: string,
    parts: readonly { etag: string }[],
    failure: ObjectStoreError,
  ): Promise<string> {
    const gone = await this.listParts(key, uploadId).then(
      () => false,
      (error) => error instanceof ObjectStoreError && error.kind === "not-found",
    );
    if (!gone) throw failure;
    const made = await this.head(key).catch(() => undefined);
    const expected = multipartEtag(parts);
    if (made && expected !== undefined && made.etag === expected) return made.etag;
    throw new ObjectStoreError(
      "not-found",
      `${this.description}: completion of the multipart upload of "${key}" failed: not found ` +
        "(the upload no longer exists, and no object of these parts was made)",
    );
  }

  async abortMultipartUpload(key: string, uploadId: string): Promise<void> {
    const command = new AbortMultipartUploadCommand({
      Bucket: this.#bucket,
      Key: this.#keys.full(key),
      UploadId: uploadId,
    });
    try {
      await this.#send(
        `abort of the multipart upload of "${key}"`,
        (abortSignal) => this.#client.send(command, { abortSignal }),
      );
    } catch (error) {
      if (!(error instanceof ObjectStoreError && error.kind === "not-found")) throw error;
    }
  }

  async read(key: string, range: ReadRange = {}): Promise<ObjectRead> {
    const { offset, length } = checkRange(range);
    const Key = this.#keys.full(key);
    if (length === 0) return { size: (await this.head(key)).size, body: emptyStream() };
    const last = length === undefined ? "" : String(offset + length - 1);
    const whole = offset === 0 && length === undefined;
    const command = new GetObjectCommand({
      Bucket: this.#bucket,
      Key,
      Range: whole ? undefined : `bytes=${offset}-${last}`,
    });
    // The deadline covers the reply's start; the body then streams under the idle timeout.
    const reply = await this.#send(
      `read of "${key}"`,
      (abortSignal) => this.#readClient.send(command, { abortSignal }),
    );
    const size = Number(reply.ContentRange?.split("/")[1] ?? reply.ContentLength);
    if (!reply.Body || !Number.isSafeInteger(size)) throw this.#malformed("a read", key);
    const what = `read of "${key}"`;
    const body = watchedBody(reply.Body.transformToWebStream(), {
      idleTimeoutMs: this.#idleTimeoutMs,
      fail: (error) => toObjectStoreError(error, this.description, what, this.#secrets),
      silent: () => this.#silent(what),
    });
    return { size, body };
  }

  async head(key: string): Promise<ObjectHead> {
    const command = new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#keys.full(key) });
    const reply = await this.#send(
      `head of "${key}"`,
      (abortSignal) => this.#client.send(command, { abortSignal }),
    );
    return {
      key,
      size: reply.ContentLength ?? 0,
      etag: unquote(reply.ETag ?? ""),
      lastModifiedMs: reply.LastModified?.getTime() ?? 0,
    };
  }

  async delete(key: string): Promise<void> {
    const command = new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#keys.full(key) });
    await this.#send(
      `delete of "${key}"`,
      (abortSignal) => this.#client.send(command, { abortSignal }),
    );
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    const fullKeys = keys.map((key) => this.#keys.full(key));
    for (let start = 0; start < fullKeys.length; start += MAX_DELETE_BATCH) {
      const batch = fullKeys.slice(start, start + MAX_DELETE_BATCH);
      const command = new DeleteObjectsCommand({
        Bucket: this.#bucket,
        Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
      });
      const what = `delete of ${batch.length} objects`;
      const reply = await this.#send(
        what,
        (abortSignal) => this.#client.send(command, { abortSignal }),
      );
      const failed = (reply.Errors ?? []).filter((error) => error.Code !== "NoSuchKey");
      if (failed.length > 0) {
        const { Key = "", Code, Message } = failed[0];
        const which = `${failed.length} of them, first "${this.#keys.relative(Key)}"`;
        const error = { code: Code, message: Message };
        throw toObjectStoreError(error, this.description, `${what} (${which})`, this.#secrets);
      }
    }
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage<ObjectInfo>> {
    const command = new ListObjectsV2Command({
      Bucket: this.#bucket,
      Prefix: this.#keys.listPrefix(prefix),
      ContinuationToken: options.after,
      MaxKeys: pageSize(options),
    });
    const reply = await this.#send(
      `listing of "${prefix}"`,
      (abortSignal) => this.#client.send(command, { abortSignal }),
    );
    const entries = (reply.Contents ?? []).map((object) => ({
      key: this.#keys.relative(object.Key ?? ""),
      size: object.Size ?? 0,
      lastModifiedMs: object.LastModified?.getTime() ?? 0,
    }));
    return { entries, next: reply.IsTruncated ? reply.NextContinuationToken : undefined };
  }

  async listMultipartUploads(
    prefix: string,
    options: ListOptions = {},
  ): Promise<ListPage<MultipartUploadInfo>> {
    const [keyMarker, uploadIdMarker] = parseUploadsMarker(options.after);
    const command = new ListMultipartUploadsCommand({
      Bucket: this.#bucket,
      Prefix: this.#keys.listPrefix(prefix),
      KeyMarker: keyMarker,
      UploadIdMarker: uploadIdMarker,
      MaxUploads: pageSize(options),
    });
    const reply = await this.#send(
      `listing of the multipart uploads under "${prefix}"`,
      (abortSignal) => this.#client.send(command, { abortSignal }),
    );
    const entries = (reply.Uploads ?? []).map((upload) => ({
      key: this.#keys.relative(upload.Key ?? ""),
      uploadId: upload.UploadId ?? "",
      initiatedMs: upload.Initiated?.getTime() ?? 0,
    }));
    const next = reply.IsTruncated
      ? JSON.stringify([reply.NextKeyMarker ?? "", reply.NextUploadIdMarker ?? ""])
      : undefined;
    return { entries, next };
  }

  /** Closes the clients' connections. */
  close(): void {
    this.#client.destroy();
    this.#readClient.destroy();
  }

  #silent(what: string): ObjectStoreError {
    return new ObjectStoreError(
      "unreachable",
      `${this.description}: ${what} failed: the object store is unreachable or did not answer ` +
        `in time (no byte for ${this.#idleTimeoutMs} ms)`,
    );
  }

  #malformed(what: string, key: string): ObjectStoreError {
    return new ObjectStoreError(
      "other",
      `${this.description}: the reply to ${what} of "${key}" lacked a field it must have`,
    );
  }
}
