/**
 * Creating, filling and checking the rollup tables (src/lambda/rollup-tables.ts): `db init`
 * creates and registers them and backfills rows that predate them (resumable); `db rollup --verify` recounts
 * whole UTC days from access_logs and lists any difference; `--repair` rebuilds those days.
 *
 * Exactness rests on one rule: a row is counted in a rollup table either by the writer that wrote
 * it (rollup-writer.ts, when the table was registered before the write began) or by the backfill
 * (when its id is at most the table's `backfill_to`), never both. Registration takes the writers'
 * gate exclusively, so no write is half done when `backfill_to` is read.
 */
import type mysql from 'mysql2/promise';
import {
  bucketSql,
  floorTo,
  GATE,
  GRAIN_MS,
  type Grain,
  keySql,
  mergeAssignments,
  RESPONSE_TIMES_BOTS_COLUMN,
  RESPONSE_TIMES_SQL,
  RESPONSE_TIMES_TABLE,
  ROLLUP_STATE_SQL,
  ROLLUP_TABLES,
  type RollupTable,
  rollupTableName,
  rollupTableSql,
} from '../lambda/rollup-tables.js';

type Db = mysql.Pool | mysql.Connection;
type Conn = mysql.PoolConnection | mysql.Connection;

/** Rows (by id) per backfill transaction: about a second of work each on a small server. */
export const BACKFILL_CHUNK_IDS = 200_000;
const ER_LOCK_DEADLOCK = 1213;
const ER_LOCK_WAIT_TIMEOUT = 1205;
const DAY_MS = GRAIN_MS.day;

export interface RollupTableState {
  table: string;
  backfillTo: number;
  backfilled: number;
  /** Backfilled up to backfill_to: queries may read it. */
  ready: boolean;
}

/** A connection of its own for a transaction, whether given a pool or a connection. */
async function withConnection<T>(db: Db, work: (conn: Conn) => Promise<T>): Promise<T> {
  if (!('getConnection' in db)) return work(db);
  const conn = await db.getConnection();
  try {
    return await work(conn);
  } finally {
    conn.release();
  }
}

async function inTransaction<T>(conn: Conn, work: () => Promise<T>): Promise<T> {
  await conn.query('START TRANSACTION');
  try {
    const result = await work();
    await conn.query('COMMIT');
    return result;
  } catch (err) {
    await conn.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/** Wait until no writer is half done, and keep new ones out until this transaction ends. */
async function closeGate(conn: Conn): Promise<void> {
  await conn.query('SELECT name FROM rollup_state WHERE name = ? FOR UPDATE', [GATE]);
}

const isRetryable = (err: unknown) => {
  const errno = (err as { errno?: number }).errno;
  return errno === ER_LOCK_DEADLOCK || errno === ER_LOCK_WAIT_TIMEOUT;
};

async function existingTables(db: Db): Promise<Set<string>> {
  const [rows] = await db.query(
    "SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'rollup\\_%'",
  );
  return new Set((rows as { name: string }[]).map((r) => r.name));
}

/**
 * Create rollup_state, the writers' gate and every rollup table that is missing, register new
 * tables (their `backfill_to` is the newest id now), and drop tables of definitions that changed
 * version. Idempotent. Returns what it made and dropped, as `db init` lists them.
 */
export async function ensureRollupTables(
  db: Db,
): Promise<{ created: string[]; dropped: string[]; unchanged: string[] }> {
  const before = await existingTables(db);
  const created: string[] = [];
  const dropped: string[] = [];
  const unchanged: string[] = [];
  (before.has('rollup_state') ? unchanged : created).push('table rollup_state');
  await db.query(ROLLUP_STATE_SQL);
  await db.query('INSERT IGNORE INTO rollup_state (name, updated_at) VALUES (?, UTC_TIMESTAMP(3))', [GATE]);
  for (const def of ROLLUP_TABLES) {
    const table = rollupTableName(def);
    (before.has(table) ? unchanged : created).push(`table ${table}`);
    await db.query(rollupTableSql(def));
  }
  (before.has(RESPONSE_TIMES_TABLE) ? unchanged : created).push(`table ${RESPONSE_TIMES_TABLE}`);
  await db.query(RESPONSE_TIMES_SQL);
  if (before.has(RESPONSE_TIMES_TABLE)) {
    const [cols] = await db.query(
      "SELECT COUNT(*) AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = 'n_bot'",
      [RESPONSE_TIMES_TABLE],
    );
    if (Number((cols as { n: number }[])[0]?.n) === 0) {
      await db.query(
        `ALTER TABLE ${RESPONSE_TIMES_TABLE} ADD COLUMN IF NOT EXISTS ${RESPONSE_TIMES_BOTS_COLUMN} AFTER n`,
      );
      created.push(`column ${RESPONSE_TIMES_TABLE}.n_bot`);
    }
  }
  const current = new Set(ROLLUP_TABLES.map(rollupTableName));
  await withConnection(db, async (conn) => {
    const [stateRows] = await conn.query('SELECT name FROM rollup_state WHERE name <> ?', [GATE]);
    const registered = new Set((stateRows as { name: string }[]).map((r) => r.name));
    const toRegister = [...current].filter((t) => !registered.has(t));
    const obsolete = [...registered].filter((t) => !current.has(t));
    if (toRegister.length === 0 && obsolete.length === 0) return;
    await inTransaction(conn, async () => {
      await closeGate(conn);
      const [[top]] = (await conn.query('SELECT COALESCE(MAX(id), 0) AS id FROM access_logs')) as unknown as [
        { id: number | string }[],
      ];
      for (const table of toRegister) {
        // Only registered tables are ever written to, so an unregistered one holds nothing of value.
        await conn.query(`DELETE FROM \`${table}\``);
        await conn.query(
          'INSERT INTO rollup_state (name, backfill_to, backfilled, updated_at) VALUES (?, ?, 0, UTC_TIMESTAMP(3))',
          [table, top?.id ?? 0],
        );
      }
      for (const table of obsolete) await conn.query('DELETE FROM rollup_state WHERE name = ?', [table]);
    });
    for (const table of obsolete) {
      await conn.query(`DROP TABLE IF EXISTS \`${table}\``);
      dropped.push(`table ${table}`);
    }
  });
  return { created, dropped, unchanged };
}

/** Each registered table's backfill progress; [] when the database has no rollups. */
export async function readRollupStates(db: Db): Promise<RollupTableState[]> {
  try {
    const [rows] = await db.query(
      'SELECT name, backfill_to AS backfillTo, backfilled FROM rollup_state WHERE name <> ? ORDER BY name',
      [GATE],
    );
    return (rows as { name: string; backfillTo: number | string; backfilled: number | string }[]).map(
      (r) => ({
        table: r.name,
        backfillTo: Number(r.backfillTo),
        backfilled: Number(r.backfilled),
        ready: Number(r.backfilled) >= Number(r.backfillTo),
      }),
    );
  } catch (err) {
    if ((err as { code?: string }).code === 'ER_NO_SUCH_TABLE') return [];
    throw err;
  }
}

const definitionOf = (table: string): RollupTable | undefined =>
  ROLLUP_TABLES.find((def) => rollupTableName(def) === table);

/** INSERT ... SELECT adding the access_logs rows matching `where` to a rollup table at one grain. */
function rebuildSql(def: RollupTable, grain: Grain, where: string): string {
  const table = rollupTableName(def);
  const key = keySql(def);
  const bucket = bucketSql(grain);
  return `INSERT INTO ${table} (\`${def.key.column}\`, grain, bucket, ${def.measures.map((m) => `\`${m.column}\``).join(', ')})
    SELECT ${key}, '${grain}', ${bucket}, ${def.measures.map((m) => m.sql).join(', ')}
    FROM access_logs WHERE ${where}${def.rows ? ` AND ${def.rows.sql}` : ''} GROUP BY ${key}, ${bucket}
    ON DUPLICATE KEY UPDATE ${mergeAssignments(def)}`;
}

export interface BackfillResult {
  /** The tables that needed filling. */
  tables: string[];
  /** Ids counted (rows, less any deleted since), over the widest of those tables. */
  ids: number;
  /** Ids still to count, over all those tables, when `shouldStop` ended it early (else 0). */
  remaining: number;
}

export interface BackfillProgress {
  /** Ids counted so far and in all, over the tables being filled. */
  done: number;
  total: number;
  tables: string[];
}

/**
 * Count the rows that predate each registered table, a chunk of ids per transaction (each chunk
 * commits its counts and its progress together, so an interrupted backfill resumes where it
 * stopped). Writers keep writing meanwhile: their rows are counted by themselves.
 */
export async function backfillRollups(
  db: Db,
  options: {
    chunkIds?: number;
    onProgress?: (p: BackfillProgress) => void;
    /** Asked before each chunk: true stops there (a function's time budget); a re-run continues. */
    shouldStop?: () => boolean;
  } = {},
): Promise<BackfillResult> {
  const chunk = options.chunkIds ?? BACKFILL_CHUNK_IDS;
  const pending = (await readRollupStates(db)).filter((s) => !s.ready && definitionOf(s.table));
  if (pending.length === 0) return { tables: [], ids: 0, remaining: 0 };
  const total = pending.reduce((n, s) => n + (s.backfillTo - s.backfilled), 0);
  let done = 0;
  const counted = new Map<string, number>();
  let stopped = false;
  options.onProgress?.({ done, total, tables: pending.map((s) => s.table) });
  await withConnection(db, async (conn) => {
    // Rows up to backfill_to are committed and never change: reading them needs no locks, and
    // locking them would hold up writers appending new rows after them.
    await conn.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
    try {
      for (const state of pending) {
        if (stopped) break;
        const def = definitionOf(state.table) as RollupTable;
        for (let from = state.backfilled; from < state.backfillTo; ) {
          if (options.shouldStop?.()) {
            stopped = true;
            break;
          }
          const to = Math.min(state.backfillTo, from + chunk);
          for (let attempt = 1; ; attempt++) {
            try {
              await inTransaction(conn, async () => {
                for (const grain of def.grains)
                  await conn.query(rebuildSql(def, grain, 'id > ? AND id <= ?'), [from, to]);
                await conn.query(
                  'UPDATE rollup_state SET backfilled = ?, updated_at = UTC_TIMESTAMP(3) WHERE name = ? AND backfilled = ?',
                  [to, state.table, from],
                );
              });
              break;
            } catch (err) {
              // A writer updating the same rollup rows: InnoDB rolled this chunk back whole; try it again.
              if (!isRetryable(err) || attempt >= 5) throw err;
            }
          }
          done += to - from;
          counted.set(state.table, (counted.get(state.table) ?? 0) + (to - from));
          from = to;
          options.onProgress?.({ done, total, tables: pending.map((s) => s.table) });
        }
      }
    } finally {
      await conn.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    }
  });
  // Tables registered together share their ids: the span of the widest is the rows counted.
  return {
    tables: pending.map((s) => s.table),
    ids: Math.max(0, ...counted.values()),
    remaining: stopped ? total - done : 0,
  };
}

export interface RollupDifference {
  table: string;
  grain: Grain;
  bucket: string;
  key: string;
  /** Present in the rollup table but with no rows in access_logs, or the other way round. */
  kind: 'missing' | 'extra' | 'different';
}

export interface VerifyReport {
  /** The whole UTC days checked, oldest first (week rows are checked over the weeks holding them). */
  days: string[];
  tables: string[];
  differences: number;
  /** The days (and weeks, "week of YYYY-MM-DD") with a difference. */
  differingDays: string[];
  /** The first few differences, for the report. */
  examples: RollupDifference[];
  /** Days and weeks rebuilt by --repair. */
  repaired: string[];
}

const EXAMPLES_KEPT = 10;

/** SQL listing the (key, bucket) groups where a rollup table and access_logs disagree over [from, to). */
function differenceSql(def: RollupTable, grain: Grain): string {
  const table = rollupTableName(def);
  const key = keySql(def);
  const bucket = bucketSql(grain);
  const cols = def.measures.map((m) => `\`${m.column}\``);
  const differs = def.measures.map((m) =>
    m.merge === 'sum'
      ? `SUM(side * CAST(\`${m.column}\` AS SIGNED)) <> 0`
      : `MIN(\`${m.column}\`) <> MAX(\`${m.column}\`)`,
  );
  return `SELECT k, b, SUM(side) AS sides FROM (
      SELECT \`${def.key.column}\` AS k, bucket AS b, 1 AS side, ${cols.join(', ')} FROM ${table}
        WHERE grain = '${grain}' AND bucket >= ? AND bucket < ?
      UNION ALL
      SELECT ${key}, ${bucket}, -1, ${def.measures.map((m) => m.sql).join(', ')} FROM access_logs
        WHERE \`timestamp\` >= ? AND \`timestamp\` < ?${def.rows ? ` AND ${def.rows.sql}` : ''} GROUP BY ${key}, ${bucket}
    ) d GROUP BY k, b HAVING SUM(side) <> 0 OR ${differs.join(' OR ')}`;
}

/** The UTC days holding rows or rollups, within [since, until) when given. */
async function daysToCheck(db: Db, since?: Date, until?: Date): Promise<string[]> {
  const status = rollupTableName(ROLLUP_TABLES[0] as RollupTable);
  const [[range]] = (await db.query(
    `SELECT LEAST(COALESCE((SELECT MIN(\`timestamp\`) FROM access_logs), '9999-12-31'),
                  COALESCE((SELECT MIN(bucket) FROM ${status}), '9999-12-31')) AS first,
            GREATEST(COALESCE((SELECT MAX(\`timestamp\`) FROM access_logs), '1000-01-01'),
                     COALESCE((SELECT MAX(bucket) FROM ${status}), '1000-01-01')) AS last`,
  )) as unknown as [{ first: Date | string; last: Date | string }[]];
  const first = new Date(range?.first as Date).getTime();
  const last = new Date(range?.last as Date).getTime();
  if (!Number.isFinite(first) || !Number.isFinite(last) || first > last) return [];
  let from = Math.floor(first / DAY_MS) * DAY_MS;
  let to = Math.floor(last / DAY_MS) * DAY_MS + DAY_MS;
  if (since) from = Math.max(from, Math.floor(since.getTime() / DAY_MS) * DAY_MS);
  if (until) to = Math.min(to, Math.ceil(until.getTime() / DAY_MS) * DAY_MS);
  const days: string[] = [];
  for (let d = from; d < to; d += DAY_MS) days.push(new Date(d).toISOString().slice(0, 10));
  return days;
}

/**
 * What verify and repair work through: each UTC day for the grains of a day or less, and each
 * week (for the week grain) that holds one of those days, compared over the whole week.
 */
interface CheckUnit {
  label: string;
  from: Date;
  to: Date;
  grains: (g: Grain) => boolean;
}

function checkUnits(days: string[]): CheckUnit[] {
  const units: CheckUnit[] = days.map((day) => {
    const from = new Date(`${day}T00:00:00.000Z`);
    return { label: day, from, to: new Date(from.getTime() + DAY_MS), grains: (g) => g !== 'week' };
  });
  const weeks = new Set(units.map((u) => floorTo(u.from.getTime(), 'week')));
  for (const week of [...weeks].sort((a, b) => a - b))
    units.push({
      label: `week of ${new Date(week).toISOString().slice(0, 10)}`,
      from: new Date(week),
      to: new Date(week + GRAIN_MS.week),
      grains: (g) => g === 'week',
    });
  return units;
}

/** The number of (key, bucket) groups where ready rollup tables disagree with access_logs in a unit. */
async function differencesOf(
  conn: Conn,
  tables: RollupTable[],
  unit: CheckUnit,
  examples: RollupDifference[],
) {
  let count = 0;
  for (const def of tables) {
    for (const grain of def.grains.filter(unit.grains)) {
      const [rows] = await conn.query(differenceSql(def, grain), [unit.from, unit.to, unit.from, unit.to]);
      for (const r of rows as { k: string | number; b: Date; sides: number | string }[]) {
        count++;
        if (examples.length < EXAMPLES_KEPT) {
          const sides = Number(r.sides);
          examples.push({
            table: rollupTableName(def),
            grain,
            bucket: new Date(r.b).toISOString(),
            key: String(r.k),
            kind: sides > 0 ? 'extra' : sides < 0 ? 'missing' : 'different',
          });
        }
      }
    }
  }
  return count;
}

/**
 * Rebuild the buckets of some grains within [from, to) (aligned to those grains) from
 * access_logs, with the writers' gate closed so no write is counted twice or lost.
 */
async function rebuildBuckets(
  conn: Conn,
  tables: readonly RollupTable[],
  grains: (g: Grain) => boolean,
  from: Date,
  to: Date,
): Promise<void> {
  await inTransaction(conn, async () => {
    await closeGate(conn);
    for (const def of tables) {
      const table = rollupTableName(def);
      for (const grain of def.grains.filter(grains)) {
        await conn.query(`DELETE FROM ${table} WHERE grain = ? AND bucket >= ? AND bucket < ?`, [
          grain,
          from,
          to,
        ]);
        await conn.query(rebuildSql(def, grain, '`timestamp` >= ? AND `timestamp` < ?'), [from, to]);
      }
    }
  });
}

/** rebuildBuckets for every ready rollup table, on a connection of its own. */
export async function rebuildReadyBuckets(
  db: Db,
  grains: (g: Grain) => boolean,
  from: Date,
  to: Date,
): Promise<void> {
  const tables = (await readRollupStates(db))
    .filter((s) => s.ready && definitionOf(s.table))
    .map((s) => definitionOf(s.table) as RollupTable);
  await withConnection(db, (conn) => rebuildBuckets(conn, tables, grains, from, to));
}

/**
 * Recount whole UTC days (and the weeks holding them) from access_logs and compare with every
 * ready rollup table; with `repair`, rebuild each that differs. Each is compared in one consistent
 * snapshot (writers commit rows and rollups together, so a running load never shows as a difference).
 */
export async function verifyRollups(
  db: Db,
  options: {
    since?: Date;
    until?: Date;
    repair?: boolean;
    onProgress?: (p: { day: string; index: number; days: number }) => void;
  } = {},
): Promise<VerifyReport> {
  const states = await readRollupStates(db);
  const tables = states
    .filter((s) => s.ready && definitionOf(s.table))
    .map((s) => definitionOf(s.table) as RollupTable);
  const report: VerifyReport = {
    days: [],
    tables: tables.map(rollupTableName),
    differences: 0,
    differingDays: [],
    examples: [],
    repaired: [],
  };
  if (tables.length === 0) return report;
  report.days = await daysToCheck(db, options.since, options.until);
  const units = checkUnits(report.days);
  await withConnection(db, async (conn) => {
    for (const [index, unit] of units.entries()) {
      options.onProgress?.({ day: unit.label, index, days: units.length });
      await conn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
      let count: number;
      try {
        count = await differencesOf(conn, tables, unit, report.examples);
      } finally {
        await conn.query('COMMIT');
      }
      if (count === 0) continue;
      report.differences += count;
      report.differingDays.push(unit.label);
      if (options.repair) {
        await rebuildBuckets(conn, tables, unit.grains, unit.from, unit.to);
        report.repaired.push(unit.label);
      }
    }
  });
  return report;
}

/**
 * Empty access_logs and every rollup table (the local stack's `--rows`, which replaces the sample
 * traffic): the rollups restart empty and ready, as on a new table.
 */
export async function clearAccessLogs(db: Db): Promise<void> {
  await db.query('TRUNCATE TABLE access_logs');
  await db.query(`DELETE FROM ${RESPONSE_TIMES_TABLE}`).catch((err) => {
    if ((err as { code?: string }).code !== 'ER_NO_SUCH_TABLE') throw err;
  });
  for (const state of await readRollupStates(db)) {
    await db.query(`TRUNCATE TABLE \`${state.table}\``);
    await db.query('UPDATE rollup_state SET backfill_to = 0, backfilled = 0 WHERE name = ?', [state.table]);
  }
}

/** Paths with fewer timed requests in a day than this are cheap to read from the rows. */
export const PERCENTILE_MIN_REQUESTS = 1_000;

/**
 * Count response times value by value for each past UTC day and busy path (at least
 * `minRequests` timed requests that day) whose counts are missing or out of date, one day per
 * transaction. Days are read in one snapshot each; a day that changes later is simply read from
 * the rows again until this runs again.
 */
export async function buildResponseTimes(
  db: Db,
  options: {
    now?: Date;
    minRequests?: number;
    onProgress?: (p: { day: string; index: number; days: number }) => void;
  } = {},
): Promise<{ days: number; paths: number }> {
  const endpoint = rollupTableName(ROLLUP_TABLES.find((d) => d.name === 'endpoint') as RollupTable);
  if (!(await readRollupStates(db)).some((s) => s.table === endpoint && s.ready))
    return { days: 0, paths: 0 };
  const today = floorTo((options.now ?? new Date()).getTime(), 'day');
  const [stale] = await db.query(
    `SELECT r.bucket AS day, r.endpoint FROM ${endpoint} r
     LEFT JOIN (SELECT day, endpoint, SUM(n) AS s, SUM(n_bot) AS b FROM ${RESPONSE_TIMES_TABLE} GROUP BY day, endpoint) h
       ON h.day = r.bucket AND h.endpoint = r.endpoint
     WHERE r.grain = 'day' AND r.bucket < ? AND r.rt_count >= ?
       AND (h.s IS NULL OR h.s <> r.rt_count OR h.b <> r.rt_count_bot)
     ORDER BY r.bucket`,
    [new Date(today), options.minRequests ?? PERCENTILE_MIN_REQUESTS],
  );
  const byDay = new Map<number, string[]>();
  for (const row of stale as { day: Date; endpoint: string }[]) {
    const day = new Date(row.day).getTime();
    byDay.set(day, [...(byDay.get(day) ?? []), row.endpoint]);
  }
  let index = 0;
  await withConnection(db, async (conn) => {
    for (const [day, paths] of byDay) {
      options.onProgress?.({
        day: new Date(day).toISOString().slice(0, 10),
        index: index++,
        days: byDay.size,
      });
      const list = paths.map(() => '?').join(', ');
      await inTransaction(conn, async () => {
        await conn.query(`DELETE FROM ${RESPONSE_TIMES_TABLE} WHERE day = ? AND endpoint IN (${list})`, [
          new Date(day),
          ...paths,
        ]);
        await conn.query(
          `INSERT INTO ${RESPONSE_TIMES_TABLE} (day, endpoint, response_time_ms, n, n_bot)
           SELECT ?, endpoint, response_time_ms, COUNT(*), COALESCE(SUM(is_bot = 1), 0) FROM access_logs
           WHERE endpoint IN (${list}) AND \`timestamp\` >= ? AND \`timestamp\` < ? AND response_time_ms IS NOT NULL
           GROUP BY endpoint, response_time_ms`,
          [new Date(day), ...paths, new Date(day), new Date(day + DAY_MS)],
        );
      });
    }
  });
  return { days: byDay.size, paths: [...byDay.values()].reduce((n, p) => n + p.length, 0) };
}
