/** What `db stats` reports about the access-log table: size, time range, recent days, status classes, indexes. */
import mysql from 'mysql2/promise';

export interface DbStats {
  rows: number;
  first: string | null;
  last: string | null;
  /** The last 7 UTC days up to `now`, oldest first, days without rows included with 0. */
  perDay: { day: string; rows: number }[];
  statusClasses: Record<'1xx' | '2xx' | '3xx' | '4xx' | '5xx', number>;
  sizes: { dataBytes: number; indexBytes: number; perIndexBytes: Record<string, number> | null };
  indexes: { name: string; columns: string[]; unique: boolean }[];
  loadHistory: { files: number; lastLoadedAt: string | null } | null;
}

/** Rows in access_logs, on any connection or pool. */
export async function countAccessLogs(db: Pick<mysql.Connection, 'query'>): Promise<number> {
  const [rows] = await db.query('SELECT COUNT(*) AS n FROM access_logs');
  return Number((rows as { n: number | string }[])[0]?.n ?? 0);
}

/**
 * Rows in the access_logs of a database given by its login (the local stack's), or an error: the
 * MariaDB error code (`ECONNREFUSED`, `ER_ACCESS_DENIED_ERROR`) when there is one.
 */
export async function countAccessLogsAt(
  login: { host: string; port: number; user: string; password: string; database: string },
  connectTimeoutMs: number,
): Promise<{ rows: number } | { error: string }> {
  try {
    const { host, port, user, password, database } = login;
    const conn = await mysql.createConnection({
      host,
      port,
      user,
      password,
      database,
      connectTimeout: connectTimeoutMs,
    });
    try {
      return { rows: await countAccessLogs(conn) };
    } finally {
      await conn.end();
    }
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return { error: e.code ?? e.message ?? String(err) };
  }
}

const DAY_MS = 86_400_000;
const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/** Collect the statistics. `now` fixes "the last 7 days" (tests pass one). */
export async function collectDbStats(pool: mysql.Pool, now = new Date()): Promise<DbStats> {
  const [[summary]] = (await pool.query(
    'SELECT COUNT(*) AS n, MIN(`timestamp`) AS first, MAX(`timestamp`) AS last FROM access_logs',
  )) as unknown as [{ n: number | string; first: Date | null; last: Date | null }[]];

  const today = Math.floor(now.getTime() / DAY_MS) * DAY_MS;
  const from = new Date(today - 6 * DAY_MS);
  const [dayRows] = (await pool.query(
    'SELECT DATE_FORMAT(`timestamp`, ?) AS day, COUNT(*) AS n FROM access_logs WHERE `timestamp` >= ? AND `timestamp` < ? GROUP BY day',
    ['%Y-%m-%d', from, new Date(today + DAY_MS)],
  )) as unknown as [{ day: string; n: number | string }[]];
  const byDay = new Map(dayRows.map((r) => [r.day, Number(r.n)]));
  const perDay = Array.from({ length: 7 }, (_, i) => {
    const day = new Date(from.getTime() + i * DAY_MS).toISOString().slice(0, 10);
    return { day, rows: byDay.get(day) ?? 0 };
  });

  const [classRows] = (await pool.query(
    'SELECT FLOOR(status_code / 100) AS c, COUNT(*) AS n FROM access_logs GROUP BY c',
  )) as unknown as [{ c: number | string; n: number | string }[]];
  const statusClasses: DbStats['statusClasses'] = { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 };
  for (const r of classRows) {
    const key = `${Number(r.c)}xx` as keyof DbStats['statusClasses'];
    if (key in statusClasses) statusClasses[key] = Number(r.n);
  }

  const [[table]] = (await pool.query(
    "SELECT DATA_LENGTH AS data, INDEX_LENGTH AS idx FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'access_logs'",
  )) as unknown as [{ data: number | string; idx: number | string }[]];

  // Per-index sizes live in mysql.innodb_index_stats, which an application user may not be allowed to read.
  let perIndexBytes: Record<string, number> | null = null;
  try {
    const [sizeRows] = (await pool.query(
      `SELECT s.index_name AS name, s.stat_value * @@innodb_page_size AS bytes FROM mysql.innodb_index_stats s
       WHERE s.database_name = DATABASE() AND s.table_name = 'access_logs' AND s.stat_name = 'size'`,
    )) as unknown as [{ name: string; bytes: number | string }[]];
    perIndexBytes = Object.fromEntries(sizeRows.map((r) => [r.name, Number(r.bytes)]));
  } catch {
    perIndexBytes = null;
  }

  const [indexRows] = (await pool.query(
    `SELECT INDEX_NAME AS name, COLUMN_NAME AS col, NON_UNIQUE AS nonUnique FROM information_schema.STATISTICS
     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'access_logs' ORDER BY INDEX_NAME = 'PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX`,
  )) as unknown as [{ name: string; col: string; nonUnique: number | string }[]];
  const indexes: DbStats['indexes'] = [];
  for (const r of indexRows) {
    const last = indexes[indexes.length - 1];
    if (last?.name === r.name) last.columns.push(r.col);
    else indexes.push({ name: r.name, columns: [r.col], unique: Number(r.nonUnique) === 0 });
  }

  let loadHistory: DbStats['loadHistory'] = null;
  try {
    const [[h]] = (await pool.query(
      'SELECT COUNT(*) AS n, MAX(loaded_at) AS last FROM load_history',
    )) as unknown as [{ n: number | string; last: Date | null }[]];
    loadHistory = { files: Number(h?.n ?? 0), lastLoadedAt: iso(h?.last) };
  } catch {
    loadHistory = null;
  }

  return {
    rows: Number(summary?.n ?? 0),
    first: iso(summary?.first),
    last: iso(summary?.last),
    perDay,
    statusClasses,
    sizes: { dataBytes: Number(table?.data ?? 0), indexBytes: Number(table?.idx ?? 0), perIndexBytes },
    indexes,
    loadHistory,
  };
}
