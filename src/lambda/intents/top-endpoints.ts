/**
 * The busiest endpoints over a window, by request count then path: get_traffic_summary's
 * top_endpoints and get_endpoint_stats' ranking.
 *
 * Over a time window the rows come from the (timestamp, ...) index in time order, so grouping
 * needs a temporary table, and one keyed on the path holds VARCHAR(700) utf8mb4 at full width
 * (2,800 bytes a group): on 1M rows that table, not the scan, was most of the summary's time. So
 * the groups are keyed on two 32-bit checksums of the path (CRC32 of it and of it reversed: cheap,
 * where MD5 cost as much as the wide table), each group carries one row id, and only the groups
 * ranked within top_n (ties included) are joined back to their path. Checksums can collide, and a
 * collision only ever adds rows to a group, so the answer is checked: the returned paths are
 * counted exactly through their own index, and on any difference the plain GROUP BY path answers.
 * For all time, or one endpoint, the path index is read in path order and the plain form streams
 * without that table.
 */
import type { BotsFilter } from '../bots.js';
import type { Database } from '../database.js';
import type { TimeWindow } from '../window.js';
import { TABLE, Where } from './sql.js';

/** A ranked endpoint: `k` the path, `n` its requests, plus a field per aggregate asked for. */
export interface EndpointGroup {
  k: string;
  n: number;
}

export async function topEndpoints<T extends EndpointGroup = EndpointGroup>(
  db: Database,
  where: Where,
  options: {
    topN: number;
    window: TimeWindow;
    /** The `bots` filter `where` holds, for the exact recount. */
    bots: BotsFilter;
    byChecksum: boolean;
    aggregates?: string[];
  },
): Promise<T[]> {
  const extra = (options.aggregates ?? []).map((a) => `, ${a}`).join('');
  const plain = () =>
    db.select<T>(
      `SELECT endpoint AS k, COUNT(*) AS n${extra} FROM ${TABLE} ${where} GROUP BY endpoint ORDER BY n DESC, k LIMIT ?`,
      [...where.values, options.topN],
    );
  if (!options.byChecksum || options.window === null) return plain();

  const top = await db.select<T>(
    `SELECT e.endpoint AS k, g.* FROM (
        SELECT MIN(id) AS id, COUNT(*) AS n${extra}, RANK() OVER (ORDER BY COUNT(*) DESC) AS r
        FROM ${TABLE} ${where} GROUP BY CRC32(endpoint), CRC32(REVERSE(endpoint))
      ) g JOIN ${TABLE} e ON e.id = g.id WHERE g.r <= ? ORDER BY g.n DESC, k LIMIT ?`,
    [...where.values, options.topN, options.topN],
  );
  if (top.length === 0) return top;
  const exact = new Where()
    .window(options.window)
    .bots(options.bots)
    .add(`endpoint IN (${top.map(() => '?').join(', ')})`, ...top.map((row) => row.k));
  const counts = await db.select<{ k: string; n: number }>(
    `SELECT endpoint AS k, COUNT(*) AS n FROM ${TABLE} ${exact} GROUP BY endpoint`,
    exact.values,
  );
  const exactCount = new Map(counts.map((row) => [row.k, Number(row.n)]));
  const verified = top.every((row) => exactCount.get(row.k) === Number(row.n));
  return verified ? top : plain();
}
