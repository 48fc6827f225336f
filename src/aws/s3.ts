/**
 * S3, narrowed to what the ingest path uses: is an object there (HeadObject), upload a file
 * (PutObject from a stream), read an object as a stream, and read/write the small JSON result
 * documents the ingest function leaves beside the logs. Errors S3 answers for a missing bucket or
 * a refused call become UserErrors naming the bucket; nothing here prints.
 *
 * Used by the CLI (`db load --remote`) and bundled into the ingest function, where the runtime
 * provides @aws-sdk/client-s3.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import {
  GetObjectCommand,
  HeadObjectCommand,
  NoSuchBucket,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { UserError } from '../errors.js';

/**
 * The S3 endpoint override in force, if any: the explicit one, else the SDK's own variables
 * (AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL), which it reads itself; unset against AWS.
 */
export function s3EndpointOverride(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (explicit) return explicit;
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === 'true') return undefined;
  return env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
}

/**
 * Settings for an S3 client. Against an emulator (an endpoint override: the local stack's
 * endpoint, LocalStack, MinIO) two things change: path-style addressing, since a bucket cannot be
 * a subdomain of 127.0.0.1; and checksums only where S3 requires them, because the SDK otherwise
 * sends streamed uploads with aws-chunked framing and a trailing checksum, which emulators such
 * as s3rver store as part of the object.
 */
export function s3ClientConfig(base: S3ClientConfig, endpointOverride: string | undefined): S3ClientConfig {
  if (!endpointOverride) return base;
  return {
    ...base,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
}

/** An S3 client (the ingest function's, and the CLI's through src/aws/clients.ts). */
export function createS3Client(base: S3ClientConfig = {}, env: NodeJS.ProcessEnv = process.env): S3Client {
  const override = s3EndpointOverride(typeof base.endpoint === 'string' ? base.endpoint : undefined, env);
  return new S3Client(s3ClientConfig({ ...base, ...(override ? { endpoint: override } : {}) }, override));
}

/** The one call S3 needs from a client: tests pass a mocked S3Client. */
export type S3 = Pick<S3Client, 'send'>;

/** PutObject takes at most 5 GB in one request. */
export const PUT_OBJECT_LIMIT_BYTES = 5 * 1024 ** 3;

export interface S3Location {
  bucket: string;
  key: string;
}

/** `s3://bucket/key` to its parts; a UserError naming the text otherwise. */
export function parseS3Url(url: string): S3Location {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+)$/.exec(url);
  if (!m) {
    throw new UserError(`"${url}" is not an S3 object URL`, {
      hint: 'Write it as s3://bucket/key (a bucket name in lower case, then the object key).',
      exitCode: 2,
    });
  }
  return { bucket: m[1] as string, key: m[2] as string };
}

export const s3Url = (l: S3Location) => `s3://${l.bucket}/${l.key}`;

/** Errors S3 answers that say the bucket is not usable by this caller, as UserErrors. */
function bucketError(err: unknown, where: S3Location): unknown {
  if (err instanceof NoSuchBucket || (err instanceof S3ServiceException && err.name === 'NoSuchBucket')) {
    return new UserError(`the S3 bucket ${where.bucket} does not exist`, {
      hint: 'Check ingest.bucket in the config, or create the ingest resources with `chatbot-ops deploy`.',
      cause: err,
    });
  }
  if (
    err instanceof S3ServiceException &&
    (err.name === 'AccessDenied' || err.$metadata.httpStatusCode === 403)
  ) {
    return new UserError(`S3 refused access to ${s3Url(where)}`, {
      hint: 'The credentials in use need s3:GetObject and s3:PutObject on that bucket.',
      cause: err,
    });
  }
  return err;
}

/** The object's size and user metadata, or undefined when there is no such object. */
export async function headObject(
  s3: S3,
  where: S3Location,
): Promise<{ size: number; metadata: Record<string, string> } | undefined> {
  try {
    const out = await s3.send(new HeadObjectCommand({ Bucket: where.bucket, Key: where.key }));
    return { size: out.ContentLength ?? 0, metadata: { ...(out.Metadata ?? {}) } };
  } catch (err) {
    // HEAD has no body, so a missing key and a missing bucket both come back as a bare 404.
    if (err instanceof NotFound || err instanceof NoSuchKey) return undefined;
    if (
      err instanceof S3ServiceException &&
      err.$metadata.httpStatusCode === 404 &&
      err.name !== 'NoSuchBucket'
    )
      return undefined;
    throw bucketError(err, where);
  }
}

/** Upload a local file (streamed, never read whole) with user metadata. */
export async function uploadFile(
  s3: S3,
  where: S3Location,
  file: { path: string; size: number; metadata?: Record<string, string>; contentType?: string },
): Promise<void> {
  if (file.size > PUT_OBJECT_LIMIT_BYTES) {
    throw new UserError(`${file.path} is larger than 5 GB, the most one S3 upload takes`, {
      hint: 'Split the log (split -l, or rotate it) and load the parts.',
      exitCode: 2,
    });
  }
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: where.bucket,
        Key: where.key,
        Body: createReadStream(file.path),
        ContentLength: file.size,
        ...(file.contentType ? { ContentType: file.contentType } : {}),
        ...(file.metadata ? { Metadata: file.metadata } : {}),
      }),
    );
  } catch (err) {
    throw bucketError(err, where);
  }
}

/** An object's body as a stream, with its size and metadata; undefined when there is no such object. */
export async function openObject(
  s3: S3,
  where: S3Location,
): Promise<{ body: Readable; size: number | undefined; metadata: Record<string, string> } | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: where.bucket, Key: where.key }));
    return {
      body: out.Body as Readable,
      size: out.ContentLength,
      metadata: { ...(out.Metadata ?? {}) },
    };
  } catch (err) {
    if (err instanceof NoSuchKey) return undefined;
    throw bucketError(err, where);
  }
}

/** A small JSON document, or undefined when there is none. */
export async function getJsonObject<T>(s3: S3, where: S3Location): Promise<T | undefined> {
  // S3 replaces an object atomically, but a file-backed emulator (the local stack's) can serve one
  // that is being rewritten half-written, or cut its response short ("aborted") when the file is
  // replaced while it is sent: either way the document is read again, briefly.
  for (let attempt = 1; ; attempt++) {
    const object = await openObject(s3, where);
    if (!object) return undefined;
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of object.body) chunks.push(Buffer.from(chunk as Uint8Array));
      return JSON.parse(Buffer.concat(chunks).toString('utf8')) as T;
    } catch (err) {
      if (!object.body.destroyed) object.body.destroy();
      if (attempt >= 5) {
        throw err instanceof SyntaxError
          ? new UserError(`${s3Url(where)} is not a JSON document`, { cause: err })
          : new UserError(`${s3Url(where)} could not be read: ${(err as Error).message}`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, 50 * attempt));
    }
  }
}

/** Write a small JSON document. */
export async function putJsonObject(s3: S3, where: S3Location, value: unknown): Promise<void> {
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: where.bucket,
        Key: where.key,
        Body: `${JSON.stringify(value)}\n`,
        ContentType: 'application/json',
      }),
    );
  } catch (err) {
    throw bucketError(err, where);
  }
}
