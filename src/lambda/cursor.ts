/**
 * Opaque keyset cursors for get_access_logs / get_error_logs: the position of the last
 * row returned, (timestamp, id), plus the window the first page resolved, so later pages read the
 * same window even though "the last 24 hours" moves on. Signed with HMAC-SHA256 under a key derived
 * from the deployment's database credentials (the same in every container) and bound to the query's
 * filters: a forged, corrupted or other query's cursor fails verification and is INVALID_PARAMS.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { invalidParam } from './errors.js';
import type { DbCredentials } from './secrets.js';
import type { TimeWindow } from './window.js';

const VERSION = 1;
const MAC_BYTES = 16;

export interface CursorState {
  /** The last row returned: the next page starts strictly after it, newest first. */
  position: { timestamp: Date; id: number };
  window: TimeWindow;
}

/** A per-deployment signing key: stable across containers, changes if the database password does. */
export function deriveCursorKey(credentials: DbCredentials): Buffer {
  return createHash('sha256')
    .update(
      [
        'chatbot-ops cursor v1',
        credentials.host,
        credentials.database,
        credentials.user,
        credentials.password,
      ].join('\0'),
    )
    .digest();
}

function mac(key: Buffer, binding: string, payload: string): Buffer {
  return createHmac('sha256', key)
    .update(binding)
    .update('\0')
    .update(payload)
    .digest()
    .subarray(0, MAC_BYTES);
}

/**
 * @param binding a canonical description of the query (intent and filters) the cursor belongs to
 */
export function encodeCursor(key: Buffer, binding: string, state: CursorState): string {
  const payload = Buffer.from(
    JSON.stringify([
      VERSION,
      state.position.timestamp.getTime(),
      state.position.id,
      state.window ? state.window.start.getTime() : null,
      state.window ? state.window.end.getTime() : null,
    ]),
  ).toString('base64url');
  return `${payload}.${mac(key, binding, payload).toString('base64url')}`;
}

const isMillis = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

export function decodeCursor(key: Buffer, binding: string, cursor: string): CursorState {
  const invalid = invalidParam('cursor', 'is not a cursor returned by this query; start again without it');
  const [payload, signature, extra] = cursor.split('.');
  if (!payload || !signature || extra !== undefined) throw invalid;
  // Compared as text, not as decoded bytes: base64url's last character carries bits no byte uses,
  // so several spellings decode to the same signature, and a changed cursor must not pass.
  const presented = Buffer.from(signature);
  const expected = Buffer.from(mac(key, binding, payload).toString('base64url'));
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) throw invalid;
  let fields: unknown;
  try {
    fields = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw invalid;
  }
  if (!Array.isArray(fields) || fields.length !== 5 || fields[0] !== VERSION) throw invalid;
  const [, ts, id, start, end] = fields as unknown[];
  if (!isMillis(ts) || !isMillis(id)) throw invalid;
  const hasWindow = isMillis(start) && isMillis(end);
  if (!hasWindow && (start !== null || end !== null)) throw invalid;
  return {
    position: { timestamp: new Date(ts), id },
    window: hasWindow ? { start: new Date(start), end: new Date(end) } : null,
  };
}
