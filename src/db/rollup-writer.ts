/**
 * Keeping the rollups (rollup-tables.ts) as rows are written: every writer of access_logs (`db
 * load`, the ingest function, `db seed`, the local stack) adds its rows to a RollupDeltas inside
 * its own transaction and applies them before COMMIT, so a file's rollup deltas commit with its
 * rows and a rolled-back write leaves no trace in either.
 *
 *   await conn.query('START TRANSACTION');
 *   const deltas = await RollupDeltas.start(conn);    // takes the writers' gate (shared)
 *   ... write a batch of rows; deltas.add(batch); if (deltas.full) await deltas.flush(conn);
 *   await deltas.flush(conn);                          // before COMMIT
 *   await conn.query('COMMIT');
 *
 * Deltas are summed in memory per bucket and key (the finest grain; coarser grains are folded from
 * it when applied), at most MAX_PENDING entries, then sent as multi-row INSERT ... ON DUPLICATE
 * KEY UPDATE sorted in primary-key order, so two writers lock shared rollup rows in the same
 * order. A writer maintains exactly the tables that have a row in rollup_state: a table `db init`
 * has not registered yet is filled by its backfill instead, never by both.
 */
import mysql from 'mysql2/promise';
import { type AccessLogRow, insertAccessLogRows, sqlDateTime } from './access-log-row.js';
import {
  floorTo,
  GATE,
  type Grain,
  mergeAssignments,
  ROLLUP_TABLES,
  type RollupTable,
  rollupTableName,
} from './rollup-tables.js';
import type { Queryable } from './schema.js';

/** Entries held before they are applied: about 10-20 MB of JavaScript objects at most. */
export const MAX_PENDING = 50_000;
/** Rows per INSERT ... ON DUPLICATE KEY UPDATE statement (well under max_allowed_packet). */
const ROWS_PER_STATEMENT = 1_000;

/** The deltas of one rollup table at its finest grain: bucket start -> key -> measure values. */
class TableDeltas {
  readonly finest: Grain;
  readonly buckets = new Map<number, Map<string | number, number[]>>();
  size = 0;

  constructor(readonly def: RollupTable) {
    this.finest = def.grains.reduce((a, b) => (GRAIN_ORDER[a] < GRAIN_ORDER[b] ? a : b));
  }

  add(rows: readonly AccessLogRow[]): void {
    const { measures, key } = this.def;
    for (const row of rows) {
      const bucket = floorTo(row.timestamp, this.finest);
      let byKey = this.buckets.get(bucket);
      if (!byKey) {
        byKey = new Map();
        this.buckets.set(bucket, byKey);
      }
      const k = key.of(row);
      const values = byKey.get(k);
      if (values === undefined) {
        byKey.set(
          k,
          measures.map((m) => m.of(row)),
        );
        this.size++;
        continue;
      }
      for (let i = 0; i < measures.length; i++) {
        const m = measures[i] as (typeof measures)[number];
        const v = m.of(row);
        const current = values[i] as number;
        values[i] =
          m.merge === 'sum' ? current + v : m.merge === 'min' ? Math.min(current, v) : Math.max(current, v);
      }
    }
  }

  /** Every (key, grain, bucket) row to apply, folded to each grain, in primary-key order. */
  rows(): { key: string | number; grain: Grain; bucket: number; values: number[] }[] {
    const out: { key: string | number; grain: Grain; bucket: number; values: number[] }[] = [];
    for (const grain of this.def.grains) {
      const folded = new Map<string, { key: string | number; bucket: number; values: number[] }>();
      for (const [bucket, byKey] of this.buckets) {
        const start = floorTo(bucket, grain);
        for (const [key, values] of byKey) {
          if (grain === this.finest) {
            out.push({ key, grain, bucket: start, values });
            continue;
          }
          const id = `${start}\u0000${typeof key}\u0000${key}`;
          const into = folded.get(id);
          if (!into) folded.set(id, { key, bucket: start, values: [...values] });
          else mergeInto(this.def, into.values, values);
        }
      }
      for (const row of folded.values()) out.push({ ...row, grain });
    }
    const byKeyFirst = this.def.leaders;
    return out.sort((a, b) =>
      byKeyFirst
        ? compareKeys(a.key, b.key) || GRAIN_ORDER[a.grain] - GRAIN_ORDER[b.grain] || a.bucket - b.bucket
        : GRAIN_ORDER[a.grain] - GRAIN_ORDER[b.grain] || a.bucket - b.bucket || compareKeys(a.key, b.key),
    );
  }

  clear(): void {
    this.buckets.clear();
    this.size = 0;
  }
}

/** The grain column is an ENUM('minute', 'hour', 'day'): it sorts in that order. */
const GRAIN_ORDER: Record<Grain, number> = { minute: 1, hour: 2, day: 3 };

function compareKeys(a: string | number, b: string | number): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return a < b ? -1 : a > b ? 1 : 0;
}

function mergeInto(def: RollupTable, into: number[], values: number[]): void {
  def.measures.forEach((m, i) => {
    const a = into[i] as number;
    const b = values[i] as number;
    into[i] = m.merge === 'sum' ? a + b : m.merge === 'min' ? Math.min(a, b) : Math.max(a, b);
  });
}

function literal(def: RollupTable, index: number, value: number): string {
  return def.measures[index]?.type.startsWith('DATETIME') ? `'${sqlDateTime(value)}'` : String(value);
}

/** The rollup deltas of the rows one transaction writes. */
export class RollupDeltas {
  private constructor(private readonly tables: TableDeltas[]) {}

  /**
   * Call inside the writer's transaction, before its first row: takes the writers' gate (a shared
   * lock held until COMMIT or ROLLBACK) and reads which rollup tables are kept. A database without
   * rollup_state (made before rollups existed) keeps none.
   */
  static async start(conn: Queryable): Promise<RollupDeltas> {
    let names: string[];
    try {
      const [gate] = await conn.query('SELECT name FROM rollup_state WHERE name = ? LOCK IN SHARE MODE', [
        GATE,
      ]);
      if ((gate as unknown[]).length === 0) return new RollupDeltas([]);
      const [rows] = await conn.query('SELECT name FROM rollup_state WHERE name <> ?', [GATE]);
      names = (rows as { name: string }[]).map((r) => r.name);
    } catch (err) {
      if ((err as { code?: string }).code === 'ER_NO_SUCH_TABLE') return new RollupDeltas([]);
      throw err;
    }
    return new RollupDeltas(
      ROLLUP_TABLES.filter((def) => names.includes(rollupTableName(def))).map((def) => new TableDeltas(def)),
    );
  }

  /** The tables this transaction keeps (by table name). */
  get tableNames(): string[] {
    return this.tables.map((t) => rollupTableName(t.def));
  }

  /** Count rows written in this transaction (synchronous: no statement is sent). */
  add(rows: readonly AccessLogRow[]): void {
    for (const table of this.tables) table.add(rows);
  }

  /** Enough is held in memory that it should be applied now. */
  get full(): boolean {
    return this.tables.some((t) => t.size >= MAX_PENDING);
  }

  /** Apply what is held (on the writer's connection, inside its transaction) and start afresh. */
  async flush(conn: Queryable): Promise<void> {
    for (const table of this.tables) {
      if (table.size === 0) continue;
      const { def } = table;
      const rows = table.rows();
      table.clear();
      const head = `INSERT INTO ${rollupTableName(def)} (\`${def.key.column}\`, grain, bucket, ${def.measures.map((m) => `\`${m.column}\``).join(', ')}) VALUES `;
      const tail = ` ON DUPLICATE KEY UPDATE ${mergeAssignments(def)}`;
      for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
        let sql = head;
        const end = Math.min(rows.length, i + ROWS_PER_STATEMENT);
        for (let j = i; j < end; j++) {
          const r = rows[j] as (typeof rows)[number];
          const key = typeof r.key === 'number' ? String(r.key) : mysql.escape(r.key);
          const values = r.values.map((v, index) => literal(def, index, v)).join(',');
          sql += `${j === i ? '' : ','}(${key},'${r.grain}','${sqlDateTime(r.bucket)}',${values})`;
        }
        await conn.query(sql + tail);
      }
    }
  }
}

/**
 * Write rows and their rollup deltas in one transaction of their own (small writers: fixtures,
 * tools). Large writers stream through a RollupDeltas themselves, as `db load` does.
 */
export async function writeAccessLogs(pool: mysql.Pool, rows: readonly AccessLogRow[]): Promise<void> {
  const conn = await pool.getConnection();
  try {
    await conn.query('START TRANSACTION');
    const rollups = await RollupDeltas.start(conn);
    for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
      const batch = rows.slice(i, i + ROWS_PER_STATEMENT);
      await insertAccessLogRows(conn, batch);
      rollups.add(batch);
    }
    await rollups.flush(conn);
    await conn.query('COMMIT');
  } catch (err) {
    await conn.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    conn.release();
  }
}
