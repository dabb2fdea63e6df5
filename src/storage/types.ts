// The storage contract shared by every driver (local.ts, s3.ts): files by key, such as `uploads/ref_x.png` or
// `outputs/task_x.mp4`. Keys are not URLs: the modules decide where a file is served. Nothing here is HTTP, and no
// driver's own file type (BunFile, S3File) leaves a driver.

/** A byte range of an object, both ends included (as HTTP's `Range: bytes=start-end`). */
export interface ByteRange {
  start: number;
  end: number;
}

/** An object that exists: its size, and its bytes as a stream or at once. */
export interface StoredObject {
  /** stream() reads a file on this machine's disk (rather than from a network store) */
  readonly local: boolean;
  /** the object's size in bytes */
  size(): Promise<number>;
  /** the whole object, or only `range` */
  stream(range?: ByteRange): ReadableStream<Uint8Array>;
  /** the same bytes at once, in memory; StorageNotFoundError when the object went away meanwhile */
  bytes(range?: ByteRange): Promise<Uint8Array>;
  /**
   * Where a client may fetch the object itself for a short while (S3 with `S3_REDIRECT=1`: a presigned URL),
   * instead of having it streamed through this server; null when it is to be streamed.
   */
  redirectUrl(): string | null;
}

export interface PutOptions {
  /** the Content-Type kept with the object (object stores serve it); derived from the key's extension if absent */
  type?: string;
}

export interface Storage {
  /** `disk` or `s3` */
  readonly kind: string;
  /**
   * Stores the bytes under the key, atomically: the key holds the whole new object or what it held before, never
   * part of one, also when the write fails or the process dies half-way.
   */
  put(key: string, bytes: Uint8Array, options?: PutOptions): Promise<void>;
  /** the object, or null when there is none under the key */
  get(key: string): Promise<StoredObject | null>;
  /** the whole object's bytes; StorageNotFoundError when there is none */
  read(key: string): Promise<Uint8Array>;
  /** removes the object; a missing one is not an error */
  delete(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
  /** a URL that serves the object to anyone holding it, for `seconds` (object stores only) */
  presign?(key: string, seconds: number): string;
}

/** The disk (or quota) is full: nothing was written under the key. */
export class StorageFullError extends Error {
  constructor(cause: unknown) {
    super('no space left on the storage device', { cause });
  }
}

/** The object store could not be reached or refused the request: nothing was written under the key. */
export class StorageUnavailableError extends Error {
  constructor(what: string, cause: unknown) {
    super(`object storage: ${what} failed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/** read() of a key that holds nothing. */
export class StorageNotFoundError extends Error {
  constructor(key: string) {
    super(`no object under the key ${key}`);
  }
}

/** `folder/name.ext`: letters, digits, `_` and `-` in each segment; nothing that could climb out of the root. */
const KEY = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*\.[a-z0-9]+$/;

export function checkKey(key: string): string {
  if (!KEY.test(key) || key.length > 512) throw new Error(`invalid storage key: ${key}`);
  return key;
}
