/**
 * `db prune --older-than 90d` (and `database.retentionDays`): delete old access_logs rows and
 * their rollups in small batches, each its own short transaction, so writers and the backend
 * never wait on it for more than a moment.
 *
 * The cutoff is rounded down to a UTC midnight: rows go in whole days, so every minute, hour and
 * day bucket of the rollups is either wholly kept or wholly deleted; the one week bucket that
 * holds the cutoff is counted again from the rows it keeps. While it
 * runs, rollup_state's `prune_floor` holds the cutoff and the aggregate intents count nothing
 * before it, so a half-deleted day never shows; the floor is cleared when the prune finishes (a
 * prune that was interrupted leaves it set until `db prune` runs again to the end).
 *
 * Measured against MariaDB RANGE partitions by day (dropped instead of deleted): see docs for the
 * figures and why batched deletes were kept.
 */
import type mysql from 'mysql2/promise';
import { UserError } from '../errors.js';
import {
  floorTo,
  GATE,
  GRAIN_MS,
  RESPONSE_TIMES_TABLE,
  ROLLUP_TABLES,
  rollupTableName,
} from '../lambda/rollup-tables.js';
import { readRollupStates, rebuildReadyBuckets } from './rollup-maintenance.js';

/** Rows per DELETE: a few milliseconds of locks each. */
export const PRUNE_BATCH_ROWS = 5_000;
const DAY_MS = GRAIN_MS.day;

export interface PruneProgress {
  /** access_logs rows deleted so far. */
  rows: number;
  /** Rollup rows deleted so far. */
  rollupRows: number;
  phase: 'rows' | 'rollups';
}

export interface PruneReport {
  /** Rows before this instant (a UTC midnight) were deleted. */
  cutoff: string;
  rows: number;
  rollupRows: number;
  dryRun: boolean;
}

/**
 * "90d", "12w" or a bare number of days, into whole days (at least 1). Anything else is a
 * UserError naming the value.
 */
export function parseRetention(text: string): number {
  const m = /^\s*(\d+)\s*([dw]?)\s*$/i.exec(text);
  const n = m ? Number(m[1]) * (m[2]?.toLowerCase() === 'w' ? 7 : 1) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > 36_500) {
    throw new UserError(`--older-than must be a number of days such as 90d or 12w (got "${text}")`, {
      hint: 'Rows are pruned in whole UTC days, from 1 day to 100 years.',
      exitCode: 2,
    });
  }
  return n;
}

/** The first instant kept: `days` before `now`, rounded down to a UTC midnight. */
export function pruneCutoff(now: Date, days: number): Date {
  return new Date(Math.floor((now.getTime() - days * DAY_MS) / DAY_MS) * DAY_MS);
}

async function setFloor(pool: mysql.Pool, floor: Date | null, cutoff: Date): Promise<void> {
  try {
    if (floor)
      await pool.query(
        'UPDATE rollup_state SET prune_floor = GREATEST(COALESCE(prune_floor, ?), ?), updated_at = UTC_TIMESTAMP(3) WHERE name = ?',
        [floor, floor, GATE],
      );
    else
      await pool.query(
        'UPDATE rollup_state SET prune_floor = NULL, updated_at = UTC_TIMESTAMP(3) WHERE name = ? AND prune_floor <= ?',
        [GATE, cutoff],
      );
  } catch (err) {
    // A database made before rollups existed has no floor to keep.
    if ((err as { code?: string }).code !== 'ER_NO_SUCH_TABLE') throw err;
  }
}

/** Delete rows older than `olderThanDays` (whole UTC days) and their rollups, in batches. */
export async function pruneAccessLogs(
  pool: mysql.Pool,
  options: {
    olderThanDays: number;
    now?: Date;
    batchRows?: number;
    dryRun?: boolean;
    onProgress?: (p: PruneProgress) => void;
  },
): Promise<PruneReport> {
  const cutoff = pruneCutoff(options.now ?? new Date(), options.olderThanDays);
  const batch = options.batchRows ?? PRUNE_BATCH_ROWS;
  const report: PruneReport = {
    cutoff: cutoff.toISOString(),
    rows: 0,
    rollupRows: 0,
    dryRun: options.dryRun ?? false,
  };
  if (options.dryRun) {
    const [[counted]] = (await pool.query('SELECT COUNT(*) AS n FROM access_logs WHERE `timestamp` < ?', [
      cutoff,
    ])) as unknown as [{ n: number | string }[]];
    report.rows = Number(counted?.n ?? 0);
    return report;
  }
  const states = await readRollupStates(pool);
  if (states.some((s) => !s.ready)) {
    throw new UserError('the rollups are still being built from existing rows', {
      hint: 'Run `chatbot-ops db init` to finish building them, then prune.',
    });
  }
  await setFloor(pool, cutoff, cutoff);
  // Each batch starts where the last one ended (the oldest rows go first), so it never walks
  // again over index entries InnoDB has not yet purged.
  let from = new Date(0);
  for (;;) {
    const [deleted] = (await pool.query(
      'DELETE FROM access_logs WHERE `timestamp` >= ? AND `timestamp` < ? ORDER BY `timestamp` LIMIT ? RETURNING `timestamp`',
      [from, cutoff, batch],
    )) as unknown as [{ timestamp: Date }[]];
    report.rows += deleted.length;
    options.onProgress?.({ rows: report.rows, rollupRows: report.rollupRows, phase: 'rows' });
    if (deleted.length < batch) break;
    from = new Date(Math.max(from.getTime(), ...deleted.map((r) => r.timestamp.getTime())));
  }
  // Rollup rows, one table (and grain) at a time, in batches too.
  const rollupDeletes = [
    ...ROLLUP_TABLES.flatMap((def) =>
      def.grains.map((grain) => ({
        sql: `DELETE FROM ${rollupTableName(def)} WHERE grain = ? AND bucket < ? LIMIT ?`,
        values: [grain, cutoff],
      })),
    ),
    { sql: `DELETE FROM ${RESPONSE_TIMES_TABLE} WHERE day < ? LIMIT ?`, values: [cutoff] },
  ];
  for (const { sql, values } of rollupDeletes) {
    for (;;) {
      let affected: number;
      try {
        const [result] = await pool.query(sql, [...values, batch]);
        affected = (result as { affectedRows: number }).affectedRows;
      } catch (err) {
        // A database made before rollups existed has none to delete.
        if ((err as { code?: string }).code === 'ER_NO_SUCH_TABLE') break;
        throw err;
      }
      report.rollupRows += affected;
      options.onProgress?.({ rows: report.rows, rollupRows: report.rollupRows, phase: 'rollups' });
      if (affected < batch) break;
    }
  }
  // The week that holds the cutoff (weeks are not whole days apart from midnights) lost some of
  // its rows: count what is left of it again. Days and finer buckets were deleted whole.
  const week = floorTo(cutoff.getTime(), 'week');
  if (states.length > 0 && week < cutoff.getTime())
    await rebuildReadyBuckets(pool, (g) => g === 'week', new Date(week), new Date(week + GRAIN_MS.week));
  await setFloor(pool, null, cutoff);
  return report;
}
