/**
 * Aggregates from the rollup tables (src/lambda/rollup-tables.ts): a window is cut into whole buckets
 * (days, hours, minutes: read from a rollup table) and the raw ranges left at its edges (read from
 * access_logs), and the two are added up in one statement. The answers are exactly what the same
 * aggregate over access_logs gives (test/lambda/rollup-exactness.test.ts checks it on random data
 * and windows); a table is used only once its backfill is complete (rollup_state), else the
 * intents read access_logs as before.
 *
 * Top lists use each bucket's busiest keys (index `leaders`): the union of the K busiest of every
 * piece are the candidates, counted exactly; a key outside them has at most the sum of every
 * piece's K-th count, so when the N-th candidate is above that sum the top N are known. Otherwise
 * K grows, and past MAX_LEADERS the window is grouped whole.
 */

import { type BotsFilter, botCondition } from './bots.js';
import type { Database } from './database.js';
import { ApiError } from './errors.js';
import {
  botTwin,
  bucketStarts,
  combineSql,
  cutWindow,
  floorTo,
  GATE,
  GRAIN_MS,
  type Grain,
  keySql,
  RESPONSE_TIMES_TABLE,
  ROLLUP_TABLES,
  type RollupMeasure,
  type RollupTable,
  rollupTableName,
  type TimeRange,
} from './rollup-tables.js';
import type { TimeWindow } from './window.js';

export type RollupName = RollupTable['name'];

/** What rollup_state says for this request: which tables may be read, and a running prune's floor. */
export interface RollupView {
  ready: ReadonlySet<RollupName>;
  /** While `db prune` runs: rows before this are being deleted and no longer count. */
  floor: Date | null;
}

const NO_ROLLUPS: RollupView = { ready: new Set(), floor: null };
/** Past this many per bucket, grouping the whole window is cheaper than asking for more leaders. */
const MAX_LEADERS = 4_000;
/** Latest DATETIME MariaDB stores: the open end of "all time" once a prune floor bounds its start. */
const END_OF_TIME = new Date('9999-12-31T23:59:59.999Z');

const isMissingTable = (err: unknown) =>
  err instanceof ApiError && (err.cause as { code?: string } | undefined)?.code === 'ER_NO_SUCH_TABLE';

/** Read rollup_state; a database without it (made before rollups existed) has none. */
export async function readRollupView(db: Database): Promise<RollupView> {
  let rows: { name: string; backfill_to: number; backfilled: number; prune_floor: Date | null }[];
  try {
    rows = await db.select('SELECT name, backfill_to, backfilled, prune_floor FROM rollup_state');
  } catch (err) {
    if (isMissingTable(err)) return NO_ROLLUPS;
    throw err;
  }
  const ready = new Set<RollupName>();
  let floor: Date | null = null;
  for (const row of rows) {
    if (row.name === GATE) {
      floor = row.prune_floor;
      continue;
    }
    const def = ROLLUP_TABLES.find((d) => rollupTableName(d) === row.name);
    if (def && Number(row.backfilled) >= Number(row.backfill_to)) ready.add(def.name);
  }
  return { ready, floor };
}

/**
 * The window an aggregate counts: the asked one, minus what a running prune is deleting. An
 * empty result (start = end) counts nothing, on either path.
 */
export function countedWindow(window: TimeWindow, floor: Date | null): TimeWindow {
  if (!floor) return window;
  if (!window) return { start: floor, end: END_OF_TIME };
  const start = window.start.getTime() < floor.getTime() ? floor : window.start;
  return { start, end: start.getTime() > window.end.getTime() ? start : window.end };
}

/**
 * A bounded range for the rollups: all time becomes the whole days holding rows (every row lies
 * in one day bucket, so no raw edge is left). Null when there is nothing to count.
 */
export async function rollupRange(db: Database, window: TimeWindow): Promise<TimeRange | null> {
  let from: number;
  let to: number;
  if (window && window.end.getTime() !== END_OF_TIME.getTime()) {
    from = window.start.getTime();
    to = window.end.getTime();
  } else {
    const [bounds] = await db.select<{ first: Date | null; last: Date | null }>(
      'SELECT MIN(`timestamp`) AS first, MAX(`timestamp`) AS last FROM access_logs',
    );
    if (!bounds?.first || !bounds.last) return null;
    const day = GRAIN_MS.day;
    from = Math.floor(bounds.first.getTime() / day) * day;
    to = Math.floor(bounds.last.getTime() / day) * day + day;
    if (window) from = Math.max(from, window.start.getTime());
  }
  return from < to ? { from, to } : null;
}

interface Sql {
  sql: string;
  values: unknown[];
}

const col = (name: string) => `\`${name}\``;

/** How a `bots` filter reads a measure from a rollup table: itself, its bots-only twin, or the difference. */
function rolledUpMeasure(def: RollupTable, m: RollupMeasure, bots: BotsFilter): string {
  if (bots === 'include') return combineSql(m);
  const twin = botTwin(def, m.column);
  if (!twin) throw new Error(`rollup ${def.name} does not count ${m.column} for bots`);
  return bots === 'only' ? `SUM(${col(twin.column)})` : `SUM(${col(m.column)}) - SUM(${col(twin.column)})`;
}

/** Whether every measure wanted can be read under a `bots` filter from this table. */
export function servesBots(def: RollupTable, bots: BotsFilter, columns: readonly string[]): boolean {
  return bots === 'include' || columns.every((c) => botTwin(def, c) !== undefined);
}

interface AggregateOptions {
  /** Per key of the table (`k`), per UTC day (`k` is 'YYYY-MM-DD'), or one row for the range. */
  group?: 'key' | 'day';
  /** A condition on the key column, which has the same name in both tables. */
  filter?: Sql;
  measures?: readonly RollupMeasure[];
  bots?: BotsFilter;
}

/**
 * One statement adding a table's measures over a range: its whole buckets from the rollup table,
 * its edges from access_logs; optionally per key or per day, optionally only where `filter` holds,
 * and for a `bots` filter only the bots' share (or the rest) of each measure. A group that the
 * filter leaves without requests is left out, as a GROUP BY over the filtered rows leaves it out.
 */
function windowAggregate(def: RollupTable, range: TimeRange, options: AggregateOptions): Sql | null {
  const bots = options.bots ?? 'include';
  // A day's groups need buckets no longer than a day.
  const grains = options.group === 'day' ? def.grains.filter((g) => GRAIN_MS[g] <= GRAIN_MS.day) : def.grains;
  const { buckets, raw } = cutWindow(range, grains);
  const measures = options.measures ?? def.measures;
  const grouped = options.group !== undefined;
  const rollupKey = options.group === 'day' ? "DATE_FORMAT(bucket, '%Y-%m-%d')" : col(def.key.column);
  const rowKey = options.group === 'day' ? "DATE_FORMAT(`timestamp`, '%Y-%m-%d')" : keySql(def);
  const filter = options.filter ? ` AND ${options.filter.sql}` : '';
  const filterValues = options.filter?.values ?? [];
  const condition = botCondition(bots);
  const rowFilter = `${filter}${condition ? ` AND ${condition}` : ''}${def.rows ? ` AND ${def.rows.sql}` : ''}`;
  const parts: string[] = [];
  const values: unknown[] = [];
  for (const b of buckets) {
    // With a key filter, each bucket is named: the primary key (grain, bucket, key) then finds
    // each (bucket, key) directly instead of reading every key of the range.
    const starts = options.filter ? bucketStarts(b).map((t) => new Date(t)) : [];
    const when = options.filter
      ? `bucket IN (${starts.map(() => '?').join(', ')})`
      : 'bucket >= ? AND bucket < ?';
    parts.push(
      `SELECT ${grouped ? `${rollupKey} AS k, ` : ''}${measures.map((m) => `${rolledUpMeasure(def, m, bots)} AS ${col(m.column)}`).join(', ')}
       FROM ${rollupTableName(def)} WHERE grain = ? AND ${when}${filter}${grouped ? ' GROUP BY k' : ''}`,
    );
    values.push(b.grain, ...(options.filter ? starts : [new Date(b.from), new Date(b.to)]), ...filterValues);
  }
  for (const r of raw) {
    parts.push(
      `SELECT ${grouped ? `${rowKey} AS k, ` : ''}${measures.map((m) => `${m.sql} AS ${col(m.column)}`).join(', ')}
       FROM access_logs WHERE \`timestamp\` >= ? AND \`timestamp\` < ?${rowFilter}${grouped ? ' GROUP BY k' : ''}`,
    );
    values.push(new Date(r.from), new Date(r.to), ...filterValues);
  }
  if (parts.length === 0) return null;
  const outer = measures.map((m) => `${combineSql(m)} AS ${col(m.column)}`).join(', ');
  const nonEmpty =
    grouped && bots !== 'include' && measures.some((m) => m.column === 'n') ? ' HAVING n > 0' : '';
  return {
    sql: `SELECT ${grouped ? 'k, ' : ''}${outer} FROM (${parts.join(' UNION ALL ')}) t${grouped ? ` GROUP BY k${nonEmpty}` : ''}`,
    values,
  };
}

/** A key's measures, by column name. */
export type KeyRow = { k: string; n: number } & Record<string, unknown>;

const table = (name: RollupName) => ROLLUP_TABLES.find((d) => d.name === name) as RollupTable;

/** Requests per status code over a range: what `statusCountsSql` gives on access_logs. */
export async function statusCountsFromRollups(
  db: Database,
  range: TimeRange | null,
  bots: BotsFilter = 'include',
): Promise<{ status: number; n: number }[]> {
  const def = table('status');
  const requests = def.measures.filter((m) => m.column === 'n');
  const q = range && windowAggregate(def, range, { group: 'key', measures: requests, bots });
  if (!q) return [];
  const rows = await db.select<{ k: number; n: number }>(q.sql, q.values);
  return rows.map((r) => ({ status: Number(r.k), n: Number(r.n) }));
}

/** One key's measures over a range (get_ip_activity's totals, get_endpoint_stats for one path). */
export async function keyTotalsFromRollups(
  db: Database,
  name: RollupName,
  key: string,
  range: TimeRange | null,
  options: { bots?: BotsFilter; measures?: readonly string[] } = {},
): Promise<KeyRow | null> {
  const def = table(name);
  const filter = { sql: `${col(def.key.column)} = ?`, values: [key] };
  const measures = options.measures
    ? def.measures.filter((m) => m.column === 'n' || options.measures?.includes(m.column))
    : undefined;
  const q = range && windowAggregate(def, range, { group: 'key', filter, measures, bots: options.bots });
  const [row] = q ? await db.select<KeyRow>(q.sql, q.values) : [];
  return row && Number(row.n) > 0 ? { ...row, n: Number(row.n) } : null;
}

/** Per-bucket request and error counts for a time series: whole buckets at grains up to `interval`. */
export async function seriesFromRollups(
  db: Database,
  range: TimeRange,
  interval: Grain,
  bots: BotsFilter = 'include',
): Promise<{ bucket: number; requests: number; errors: number }[]> {
  const def = table('status');
  const grains = def.grains.filter((g) => GRAIN_MS[g] <= GRAIN_MS[interval]);
  const { buckets, raw } = cutWindow(range, grains);
  const n = bots === 'include' ? 'n' : bots === 'only' ? 'n_bot' : '(n - n_bot)';
  const condition = botCondition(bots);
  const parts: string[] = [];
  const values: unknown[] = [];
  for (const b of buckets) {
    parts.push(
      `SELECT bucket AS b, SUM(${n}) AS requests, SUM(IF(status_code >= 400, ${n}, 0)) AS errors FROM ${rollupTableName(def)}
       WHERE grain = ? AND bucket >= ? AND bucket < ? GROUP BY bucket`,
    );
    values.push(b.grain, new Date(b.from), new Date(b.to));
  }
  for (const r of raw) {
    // A raw edge is shorter than the finest grain, so it lies inside one bucket of the series.
    parts.push(
      `SELECT ? AS b, COUNT(*) AS requests, SUM(status_code >= 400) AS errors FROM access_logs WHERE \`timestamp\` >= ? AND \`timestamp\` < ?${condition ? ` AND ${condition}` : ''}`,
    );
    values.push(new Date(r.from), new Date(r.from), new Date(r.to));
  }
  if (parts.length === 0) return [];
  const rows = await db.select<{ b: Date; requests: number; errors: number | null }>(
    parts.join(' UNION ALL '),
    values,
  );
  return rows.map((r) => ({
    bucket: new Date(r.b).getTime(),
    requests: Number(r.requests),
    errors: Number(r.errors ?? 0),
  }));
}

/**
 * The `topN` busiest keys of a rollup table over a range (count, then key in the column's
 * collation, as `ORDER BY n DESC, k` on access_logs orders them), with `measures` summed for each.
 */
export async function topKeysFromRollups(
  db: Database,
  name: 'endpoint' | 'ip',
  range: TimeRange | null,
  topN: number,
  measures: readonly string[] = ['n'],
  bots: BotsFilter = 'include',
): Promise<KeyRow[]> {
  if (!range) return [];
  const def = table(name);
  const wanted = def.measures.filter((m) => m.column === 'n' || measures.includes(m.column));
  const { buckets, raw } = cutWindow(range, def.grains);
  const key = col(def.key.column);
  // Each piece's busiest keys, from the `leaders` index. A raw edge lies in buckets of the finest
  // grain that the window only partly covers: a key counts no more in the edge than in that whole
  // bucket, so the bucket's leaders serve as the edge's (its exact counts come from the rows below).
  const finest = def.grains.reduce((a, b) => (GRAIN_MS[a] < GRAIN_MS[b] ? a : b));
  const starts: { grain: Grain; start: number }[] = [];
  for (const b of buckets) for (const start of bucketStarts(b)) starts.push({ grain: b.grain, start });
  for (const r of raw)
    for (let t = floorTo(r.from, finest); t < r.to; t += GRAIN_MS[finest])
      starts.push({ grain: finest, start: t });
  const pieces = starts.map(({ grain, start }) => ({
    sql: `${key} AS k, n FROM ${rollupTableName(def)} WHERE grain = ? AND bucket = ? ORDER BY n DESC LIMIT ?`,
    values: [grain, new Date(start)],
  }));
  if (pieces.length === 0) return [];

  for (let leaders = 2 * topN + 10; leaders <= MAX_LEADERS; leaders *= 4) {
    // The piece number is a loop counter, never input: safe as SQL text.
    const rows = await db.select<{ p: number; k: string; n: number }>(
      pieces.map((p, i) => `(SELECT ${i} AS p, ${p.sql})`).join(' UNION ALL '),
      pieces.flatMap((p) => [...p.values, leaders]),
    );
    const perPiece = new Map<number, number[]>();
    for (const row of rows) {
      const counts = perPiece.get(Number(row.p)) ?? [];
      counts.push(Number(row.n));
      perPiece.set(Number(row.p), counts);
    }
    // A key missing from a piece's list has at most that piece's last listed count (0 if the list
    // is whole); its bots' or others' share is no more than that either.
    let outsiderBound = 0;
    for (const counts of perPiece.values())
      if (counts.length >= leaders) outsiderBound += Math.min(...counts);
    const candidates = [...new Set(rows.map((r) => r.k))];
    if (candidates.length === 0) return [];
    const q = windowAggregate(def, range, {
      group: 'key',
      measures: wanted,
      bots,
      filter: { sql: `${key} IN (${candidates.map(() => '?').join(', ')})`, values: candidates },
    }) as Sql;
    const totals = await db.select<KeyRow>(`${q.sql} ORDER BY n DESC, k`, q.values);
    const settled = totals.length >= topN ? Number(totals[topN - 1]?.n) > outsiderBound : outsiderBound === 0;
    if (settled) return totals.slice(0, topN).map((r) => ({ ...r, n: Number(r.n) }));
  }
  // Keys too evenly spread for the leaders to settle it: group the whole window.
  const all = windowAggregate(def, range, { group: 'key', measures: wanted, bots }) as Sql;
  const rows = await db.select<KeyRow>(`${all.sql} ORDER BY n DESC, k LIMIT ?`, [...all.values, topN]);
  return rows.map((r) => ({ ...r, n: Number(r.n) }));
}

/**
 * The nearest-rank 95th percentile of each path's response times over a range, under a `bots`
 * filter: the whole days from `rollup_endpoint_rt` where it holds all of that day's timed
 * requests the filter keeps (its count equals `rt_count`, `rt_count_bot` or their difference),
 * the rest of the range from the path's rows, value by value. A path whose values do not add up
 * to `timed` (a write landed between the statements) is left out of the map: the caller then
 * reads its percentile from the rows.
 */
export async function p95FromRollups(
  db: Database,
  paths: { k: string; timed: number }[],
  range: TimeRange,
  bots: BotsFilter = 'include',
): Promise<Map<string, number>> {
  const result = new Map<string, number>();
  if (paths.length === 0) return result;
  const endpoint = rollupTableName(table('endpoint'));
  // The counts the filter keeps, per value and per day.
  const kept = bots === 'include' ? 'n' : bots === 'only' ? 'n_bot' : 'n - n_bot';
  const timedKept =
    bots === 'include' ? 'r.rt_count' : bots === 'only' ? 'r.rt_count_bot' : 'r.rt_count - r.rt_count_bot';
  const condition = botCondition(bots);
  const days: number[] = [];
  for (const b of cutWindow(range, ['week', 'day']).buckets)
    for (let t = b.from; t < b.to; t += GRAIN_MS.day) days.push(t);
  const keys = paths.map((p) => p.k);
  const complete = new Map<string, Set<number>>(keys.map((k) => [k, new Set()]));
  if (days.length > 0) {
    const rows = await db.select<{ k: string; day: Date }>(
      `SELECT h.endpoint AS k, h.day FROM (
         SELECT day, endpoint, SUM(${kept}) AS s FROM ${RESPONSE_TIMES_TABLE}
         WHERE day IN (${days.map(() => '?').join(', ')}) AND endpoint IN (${keys.map(() => '?').join(', ')})
         GROUP BY day, endpoint) h
       JOIN ${endpoint} r ON r.grain = 'day' AND r.bucket = h.day AND r.endpoint = h.endpoint AND ${timedKept} = h.s`,
      [...days.map((d) => new Date(d)), ...keys],
    );
    for (const row of rows) complete.get(row.k)?.add(new Date(row.day).getTime());
  }
  // Per path: its complete days from the counts, everything else in the range from its rows.
  const parts: string[] = [];
  const values: unknown[] = [];
  paths.forEach((path, i) => {
    const covered = [...(complete.get(path.k) ?? [])].sort((a, b) => a - b);
    if (covered.length > 0) {
      parts.push(
        `SELECT ${i} AS p, response_time_ms AS v, SUM(${kept}) AS n FROM ${RESPONSE_TIMES_TABLE}
         WHERE day IN (${covered.map(() => '?').join(', ')}) AND endpoint = ? GROUP BY response_time_ms`,
      );
      values.push(...covered.map((d) => new Date(d)), path.k);
    }
    let from = range.from;
    for (const day of [...covered, range.to]) {
      if (day > from) {
        parts.push(
          `SELECT ${i} AS p, response_time_ms AS v, COUNT(*) AS n FROM access_logs
           WHERE endpoint = ? AND \`timestamp\` >= ? AND \`timestamp\` < ? AND response_time_ms IS NOT NULL${condition ? ` AND ${condition}` : ''}
           GROUP BY response_time_ms`,
        );
        values.push(path.k, new Date(from), new Date(Math.min(day, range.to)));
      }
      from = day + GRAIN_MS.day;
    }
  });
  const counts = await db.select<{ p: number; v: number; n: number }>(parts.join(' UNION ALL '), values);
  const perPath = paths.map(() => new Map<number, number>());
  for (const row of counts) {
    const into = perPath[Number(row.p)] as Map<number, number>;
    into.set(Number(row.v), (into.get(Number(row.v)) ?? 0) + Number(row.n));
  }
  paths.forEach((path, i) => {
    const byValue = perPath[i] as Map<number, number>;
    let total = 0;
    for (const n of byValue.values()) total += n;
    if (total !== path.timed || total === 0) return;
    const rank = Math.ceil((95 * total) / 100);
    let seen = 0;
    for (const v of [...byValue.keys()].sort((a, b) => a - b)) {
      seen += byValue.get(v) as number;
      if (seen >= rank) {
        result.set(path.k, v);
        return;
      }
    }
  });
  return result;
}

/** Bytes sent and requests per UTC day over a range ('YYYY-MM-DD'), oldest first; one path's when given. */
export async function bytesPerDayFromRollups(
  db: Database,
  range: TimeRange | null,
  bots: BotsFilter,
  endpoint?: string,
): Promise<{ day: string; bytes: number; n: number }[]> {
  // One path's bytes are in the path rollup; the status rollup has fewer rows per day for all of them.
  const def = table(endpoint === undefined ? 'status' : 'endpoint');
  const measures = def.measures.filter((m) => m.column === 'n' || m.column === 'bytes');
  const filter = endpoint === undefined ? undefined : { sql: 'endpoint = ?', values: [endpoint] };
  const q = range && windowAggregate(def, range, { group: 'day', measures, bots, filter });
  if (!q) return [];
  const rows = await db.select<{ k: string; bytes: number; n: number }>(`${q.sql} ORDER BY k`, q.values);
  return rows.map((r) => ({ day: String(r.k), bytes: Number(r.bytes), n: Number(r.n) }));
}

/**
 * The paths that sent the most bytes over a range (bytes, then path, as `ORDER BY bytes DESC, k`
 * on access_logs orders them). Every path of the range is summed: the `leaders` index ranks by
 * requests, not bytes, and a range's path rows are few next to its access_logs rows.
 */
export async function topBytesFromRollups(
  db: Database,
  range: TimeRange | null,
  topN: number,
  bots: BotsFilter,
): Promise<{ k: string; bytes: number; n: number }[]> {
  const def = table('endpoint');
  const measures = def.measures.filter((m) => m.column === 'n' || m.column === 'bytes');
  const q = range && windowAggregate(def, range, { group: 'key', measures, bots });
  if (!q) return [];
  const rows = await db.select<{ k: string; bytes: number; n: number }>(
    `${q.sql} ORDER BY bytes DESC, k LIMIT ?`,
    [...q.values, topN],
  );
  return rows.map((r) => ({ k: r.k, bytes: Number(r.bytes), n: Number(r.n) }));
}

/**
 * Requests per agent class over a range, as a derived table (`k` the class key, `n` its requests)
 * with the class's parts split out: `is_bot` ('0' or '1'), `browser` and `os` in the collation of
 * access_logs' columns, so grouping and ordering by them agree with the same on the rows. Null
 * when the range is empty.
 */
export function agentClassesFromRollups(range: TimeRange | null): Sql | null {
  const q = range && windowAggregate(table('agent'), range, { group: 'key' });
  if (!q) return null;
  const part = (i: number) =>
    `SUBSTRING_INDEX(SUBSTRING_INDEX(k, CHAR(31 USING utf8mb4), ${i}), CHAR(31 USING utf8mb4), -1) COLLATE utf8mb4_unicode_ci`;
  return {
    sql: `(SELECT LEFT(k, 1) AS is_bot, ${part(2)} AS browser, ${part(3)} AS os, n FROM (${q.sql}) a)`,
    values: q.values,
  };
}
