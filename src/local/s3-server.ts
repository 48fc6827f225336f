/**
 * The local stack's S3 endpoint: s3rver (an S3-compatible server written in JavaScript, storing
 * objects as files under the state folder) on 127.0.0.1, with the logs bucket, and its
 * object-created events turned into the notifications S3 would send: only for keys the
 * notification's prefix and suffixes take, with the object key URL-encoded as S3 encodes it.
 */
import { mkdirSync } from 'node:fs';
import S3rver from 's3rver';
import { encodeEventKey, isWatchedKey } from '../ingest/layout.js';

export interface S3NotificationEvent {
  Records: {
    eventVersion: string;
    eventSource: 'aws:s3';
    awsRegion: string;
    eventTime: string;
    eventName: string;
    s3: {
      s3SchemaVersion: string;
      configurationId: string;
      bucket: { name: string; arn: string };
      object: { key: string; size?: number; eTag?: string; sequencer?: string };
    };
  }[];
}

export interface LocalS3Options {
  /** Where objects are kept. */
  dir: string;
  /** 0 picks a free port. */
  port?: number;
  bucket: string;
  region: string;
  /** The notification's filter: only these keys produce events. */
  filter: { prefix: string; suffixes: readonly string[] };
  onObjectCreated: (event: S3NotificationEvent) => void;
}

export interface LocalS3 {
  endpoint: string;
  port: number;
  bucket: string;
  close(): Promise<void>;
}

interface S3rverRecord {
  eventName?: string;
  eventTime?: string;
  s3?: {
    object?: { key?: string; size?: number; eTag?: string; sequencer?: string };
    bucket?: { name?: string };
  };
}

/** The notification S3 would send for one record s3rver emitted (undefined when the filter drops it). */
export function notificationFor(
  record: S3rverRecord,
  options: Pick<LocalS3Options, 'bucket' | 'region' | 'filter'>,
): S3NotificationEvent | undefined {
  const key = record.s3?.object?.key;
  const bucket = record.s3?.bucket?.name;
  if (!record.eventName?.startsWith('ObjectCreated:') || key === undefined || bucket !== options.bucket)
    return undefined;
  if (!isWatchedKey(key, options.filter)) return undefined;
  const object = record.s3?.object ?? {};
  return {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: options.region,
        eventTime: record.eventTime ?? new Date().toISOString(),
        eventName: record.eventName,
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'chatbot-ops-ingest',
          bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` },
          object: {
            key: encodeEventKey(key),
            ...(object.size !== undefined ? { size: object.size } : {}),
            ...(object.eTag !== undefined ? { eTag: object.eTag } : {}),
            ...(object.sequencer !== undefined ? { sequencer: object.sequencer } : {}),
          },
        },
      },
    ],
  };
}

export async function startLocalS3(options: LocalS3Options): Promise<LocalS3> {
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    silent: true,
    directory: options.dir,
    // Path-style only: a bucket cannot be a subdomain of 127.0.0.1.
    vhostBuckets: false,
    configureBuckets: [{ name: options.bucket, configs: [] }],
  });
  (server as unknown as NodeJS.EventEmitter).on('event', (event: { Records?: S3rverRecord[] }) => {
    for (const record of event.Records ?? []) {
      const notification = notificationFor(record, options);
      if (notification) options.onObjectCreated(notification);
    }
  });
  const address = await server.run();
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    port: address.port,
    bucket: options.bucket,
    close: () => {
      // s3rver closes its logger before the requests still running end, and winston then prints
      // "Attempt to write logs with no transports" for each; requests log through ctx.logger, which
      // Koa looks up on app.context, so a quiet one there keeps shutdown silent.
      const quiet = { info() {}, warn() {}, error() {}, debug() {} };
      (server as unknown as { context: { logger: unknown } }).context.logger = quiet;
      return server.close();
    },
  };
}
