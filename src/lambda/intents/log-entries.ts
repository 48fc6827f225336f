/**
 * get_access_logs and get_error_logs: log entries newest first, filtered, a page at a time with a
 * keyset cursor on (timestamp, id). Each filter has an index that starts with its column and
 * continues with (timestamp, id), so a page reads only the rows it returns.
 */
import { decodeCursor, encodeCursor } from '../cursor.js';
import type { Database } from '../database.js';
import { invalidParam } from '../errors.js';
import {
  httpMethodParam,
  integerParam,
  ipAddressParam,
  type ParamValues,
  stringParam,
  withDefault,
} from '../params.js';
import { describeWindow, resolveWindow, type TimeWindow, WINDOW_PARAMS } from '../window.js';
import { defineIntent, type IntentContext } from './intent.js';
import { likePrefix, TABLE, Where } from './sql.js';

/** Matches the column (VARCHAR(700)); longer input could never match. */
const ENDPOINT_MAX = 700;

const LOG_FILTER_PARAMS = {
  ...WINDOW_PARAMS,
  ip_address: ipAddressParam('Only requests from this client address (IPv4 or IPv6).'),
  endpoint: stringParam('Only this exact path (without query string), e.g. /api/users.', ENDPOINT_MAX),
  endpoint_prefix: stringParam(
    'Only paths starting with this text, e.g. /api/. Not with endpoint.',
    ENDPOINT_MAX,
  ),
  method: httpMethodParam('Only this HTTP method (GET, POST, ...).'),
  status_code: integerParam('Only this HTTP status code.', { min: 100, max: 599 }),
  limit: withDefault(integerParam('Entries per page.', { min: 1, max: 'MAX_QUERY_LIMIT' }), 100),
  cursor: stringParam('next_cursor from the previous page of the same query.', 2000),
};

type LogFilters = ParamValues<typeof LOG_FILTER_PARAMS> & { min_status?: number };

export interface LogEntry {
  id: number;
  timestamp: string;
  ip_address: string;
  method: string;
  endpoint: string;
  query_string: string | null;
  status_code: number;
  bytes_sent: number | null;
  response_time_ms: number | null;
  referrer: string | null;
  user_agent: string | null;
}

interface LogRow {
  id: number;
  timestamp: Date;
  ip_address: string;
  method: string;
  endpoint: string;
  query_string: string | null;
  status_code: number;
  bytes_sent: number | null;
  response_time_ms: number | null;
  referrer: string | null;
  user_agent: string | null;
}

const COLUMNS =
  'id, `timestamp`, ip_address, method, endpoint, query_string, status_code, bytes_sent, response_time_ms, referrer, user_agent';

/** A log field that was `-` or empty in the source is absent, not the text "-". */
function presentOrNull(value: string | null): string | null {
  return value === null || value === '' || value === '-' ? null : value;
}

export function toLogEntry(row: LogRow): LogEntry {
  return {
    id: Number(row.id),
    timestamp: row.timestamp.toISOString(),
    ip_address: row.ip_address,
    method: row.method,
    endpoint: row.endpoint,
    query_string: presentOrNull(row.query_string),
    status_code: row.status_code,
    bytes_sent: row.bytes_sent === null ? null : Number(row.bytes_sent),
    response_time_ms: row.response_time_ms,
    referrer: presentOrNull(row.referrer),
    user_agent: presentOrNull(row.user_agent),
  };
}

/** What a cursor is bound to: the intent and every filter, but not the page size or the cursor itself. */
function cursorBinding(intent: string, filters: LogFilters): string {
  const { cursor: _cursor, limit: _limit, ...rest } = filters;
  const canonical = Object.keys(rest)
    .sort()
    .map((k) => {
      const v = rest[k as keyof typeof rest];
      return [k, v instanceof Date ? v.toISOString() : (v ?? null)];
    });
  return JSON.stringify([intent, canonical]);
}

async function readLogPage(db: Database, intent: string, filters: LogFilters, ctx: IntentContext) {
  if (filters.endpoint !== undefined && filters.endpoint_prefix !== undefined)
    throw invalidParam('endpoint_prefix', 'cannot be combined with endpoint');
  const binding = cursorBinding(intent, filters);
  const resumed =
    filters.cursor === undefined ? undefined : decodeCursor(await ctx.cursorKey(), binding, filters.cursor);
  // A later page reads the window the first page resolved, so "the last 24 hours" does not slide between pages.
  const window: TimeWindow = resumed ? resumed.window : resolveWindow(filters, ctx.now);

  const where = new Where();
  if (filters.ip_address !== undefined) where.add('ip_address = ?', filters.ip_address);
  if (filters.endpoint !== undefined) where.add('endpoint = ?', filters.endpoint);
  if (filters.endpoint_prefix !== undefined)
    where.add("endpoint LIKE ? ESCAPE '!'", likePrefix(filters.endpoint_prefix));
  if (filters.method !== undefined) where.add('method = ?', filters.method);
  if (filters.status_code !== undefined) where.add('status_code = ?', filters.status_code);
  if (filters.min_status !== undefined) where.add('status_code >= ?', filters.min_status);
  where.window(window);
  if (resumed) {
    // (timestamp, id) < (t, i), written so the range optimiser can use the leading `timestamp <= t`.
    const { timestamp, id } = resumed.position;
    where.add('`timestamp` <= ? AND (`timestamp` < ? OR id < ?)', timestamp, timestamp, id);
  }
  const rows = await db.select<LogRow>(
    `SELECT ${COLUMNS} FROM ${TABLE} ${where} ORDER BY \`timestamp\` DESC, id DESC LIMIT ?`,
    [...where.values, filters.limit + 1],
  );
  const page = rows.slice(0, filters.limit);
  const last = page.at(-1);
  const next_cursor =
    rows.length > filters.limit && last
      ? encodeCursor(await ctx.cursorKey(), binding, {
          position: { timestamp: last.timestamp, id: Number(last.id) },
          window,
        })
      : null;
  return {
    data: { logs: page.map(toLogEntry), count: page.length, next_cursor, window: describeWindow(window) },
    rows: rows.length,
  };
}

export const accessLogs = defineIntent({
  name: 'get_access_logs',
  description:
    'Log entries newest first, filtered by client IP, endpoint or prefix, method, status; paged with next_cursor.',
  params: LOG_FILTER_PARAMS,
  run: (db, params, ctx) => readLogPage(db, 'get_access_logs', params, ctx),
});

export const errorLogs = defineIntent({
  name: 'get_error_logs',
  description: 'Like get_access_logs, but only responses with status >= min_status (default 400).',
  params: {
    ...LOG_FILTER_PARAMS,
    min_status: withDefault(
      integerParam('Lowest status code counted as an error.', { min: 400, max: 599 }),
      400,
    ),
  },
  run: (db, params, ctx) => readLogPage(db, 'get_error_logs', params, ctx),
});
