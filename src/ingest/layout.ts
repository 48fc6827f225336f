/**
 * Where things live in the logs bucket, shared by the CLI (which uploads and waits) and the ingest
 * function (which loads and reports):
 *
 *   <prefix>...                          logs to load (ALB, CloudFront, anything the user puts there)
 *   <prefix>chatbot-ops/sha256-<hex>.log[.gz]   files `db load --remote` uploaded, named by content
 *   <resultsPrefix><key>.json            what the ingest function made of object <key>
 */
import { createHash } from 'node:crypto';
import type { LoadReport } from '../db/load.js';

/** The bucket's name when the config names none: unique per account and region, as S3 requires. */
export function defaultLogsBucket(account: string, region: string): string {
  return `chatbot-logs-${account}-${region}`;
}

/**
 * The key `db load --remote` uploads a file to: named by the SHA-256 of its text (after gunzip, as
 * load_history records it), so a second run finds it there and uploads nothing.
 */
export function uploadKey(prefix: string, textSha256: string, gzip: boolean): string {
  return `${prefix}chatbot-ops/sha256-${textSha256}${gzip ? '.log.gz' : '.log'}`;
}

/** S3 keys are at most 1,024 bytes. */
const KEY_MAX_BYTES = 1024;

/** The key of the result document for object `key` (a hash of the key when the plain name would be too long). */
export function resultKey(resultsPrefix: string, key: string): string {
  const plain = `${resultsPrefix}${key}.json`;
  if (Buffer.byteLength(plain) <= KEY_MAX_BYTES) return plain;
  return `${resultsPrefix}sha256-of-key/${createHash('sha256').update(key).digest('hex')}.json`;
}

/** Does the notification filter (prefix and suffixes) take this key? */
export function isWatchedKey(key: string, filter: { prefix: string; suffixes: readonly string[] }): boolean {
  return (
    key.startsWith(filter.prefix) &&
    (filter.suffixes.length === 0 || filter.suffixes.some((s) => key.endsWith(s)))
  );
}

/**
 * S3 writes object keys URL-encoded in event notifications, a space as '+' ("red flower.jpg"
 * arrives as "red+flower.jpg"). These undo and redo that.
 */
export function decodeEventKey(encoded: string): string {
  return decodeURIComponent(encoded.replace(/\+/g, ' '));
}

export function encodeEventKey(key: string): string {
  return encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/');
}

/** What the ingest function made of one object: written to resultKey() as JSON. */
export interface IngestResult {
  version: 1;
  object: string;
  status: 'running' | 'loaded' | 'skipped' | 'failed';
  startedAt: string;
  finishedAt?: string;
  /** The Lambda request id of the invocation that wrote it. */
  requestId?: string;
  progress?: { lines: number; bytes: number; totalBytes?: number };
  /** The load report, as `db load --json` prints it (loaded and skipped; failed when lines were bad). */
  report?: LoadReport;
  error?: { message: string; hint?: string };
}
