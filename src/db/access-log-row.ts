/**
 * One access_logs row as the loader and the seeder produce it, and the multi-row INSERT that
 * writes a batch of them. Both paths share this so the column list and value shapes cannot drift.
 */
import type { Queryable } from './schema.js';
import { classifyUserAgent } from './user-agent.js';

export interface AccessLogRow {
  /** Milliseconds since the epoch, UTC (stored as DATETIME(3) in UTC). */
  timestamp: number;
  ip_address: string;
  method: string;
  /** The path without its query string, at most ENDPOINT_MAX characters. */
  endpoint: string;
  /** The query string without its leading '?', or null when the request had none. */
  query_string: string | null;
  status_code: number;
  bytes_sent: number | null;
  response_time_ms: number | null;
  referrer: string | null;
  user_agent: string | null;
}

/** The endpoint column is VARCHAR(700) (templates/schema.sql explains why). */
export const ENDPOINT_MAX = 700;

export const ACCESS_LOG_COLUMNS = [
  'timestamp',
  'ip_address',
  'method',
  'endpoint',
  'query_string',
  'status_code',
  'bytes_sent',
  'response_time_ms',
  'referrer',
  'user_agent',
  // Derived from user_agent as the row is written (user-agent.ts): not part of AccessLogRow.
  'is_bot',
  'browser',
  'os',
] as const;

const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);
const pad3 = (n: number) => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

/** `YYYY-MM-DD HH:MM:SS.mmm` in UTC: what a DATETIME(3) column takes, independent of the session time zone. */
export function sqlDateTime(ms: number): string {
  const d = new Date(ms);
  return (
    `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ` +
    `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}.${pad3(d.getUTCMilliseconds())}`
  );
}

/** Approximate size of a row in an INSERT statement, to keep each statement well under max_allowed_packet. */
export function rowSqlBytes(row: AccessLogRow): number {
  return (
    80 +
    row.ip_address.length +
    row.endpoint.length +
    (row.query_string?.length ?? 0) +
    (row.referrer?.length ?? 0) +
    (row.user_agent?.length ?? 0)
  );
}

const INSERT_SQL = `INSERT INTO access_logs (${ACCESS_LOG_COLUMNS.map((c) => `\`${c}\``).join(', ')}) VALUES ?`;

/** Insert a batch of rows in one statement (values escaped by the driver). */
export async function insertAccessLogRows(conn: Queryable, rows: readonly AccessLogRow[]): Promise<void> {
  if (rows.length === 0) return;
  const values = rows.map((r) => {
    const agent = classifyUserAgent(r.user_agent);
    return [
      sqlDateTime(r.timestamp),
      r.ip_address,
      r.method,
      r.endpoint,
      r.query_string,
      r.status_code,
      r.bytes_sent,
      r.response_time_ms,
      r.referrer,
      r.user_agent,
      agent.is_bot,
      agent.browser,
      agent.os,
    ];
  });
  await conn.query(INSERT_SQL, [values]);
}
