/**
 * Keeping the rollups (src/lambda/rollup-tables.ts) as rows are written: every writer of
 * access_logs (`db load`, the ingest function, `db seed`, the local stack) adds its rows to a
 * RollupDeltas inside its own transaction and applies them before COMMIT, so a file's rollup
 * deltas commit with its rows and a rolled-back write leaves no trace in either.
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
import {
  floorTo,
  GATE,
  GRAIN_MS,
  type Grain,
  mergeAssignments,
  ROLLUP_TABLES,
  type RollupTable,
  rollupTableName,
} from '../lambda/rollup-tables.js';
import { type AccessLogRow, insertAccessLogRows, sqlDateTime } from './access-log-row.js';
import type { Queryable } from './schema.js';
import type { StatementPipe } from './statement-pipe.js';

/** Entries held before they are applied: about 10-20 MB of JavaScript objects at most. */
export const MAX_PENDING = 25_000;
/** Rows per INSERT ... ON DUPLICATE KEY UPDATE statement (well under max_allowed_packet). */
const ROWS_PER_STATEMENT = 1_000;

/** The deltas of one rollup table at its finest grain: bucket start -> key -> measure values. */
class TableDeltas {
  readonly finest: Grain;
  readonly buckets = new Map<number, Map<string | number, number[]>>();
  size = 0;
  private readonly merges: ('sum' | 'min' | 'max')[];
  private readonly values: ((row: AccessLogRow) => number)[];

  constructor(readonly def: RollupTable) {
    this.finest = def.grains.reduce((a, b) => (GRAIN_MS[a] < GRAIN_MS[b] ? a : b));
    this.merges = def.measures.map((m) => m.merge);
    this.values = def.measures.map((m) => m.of);
  }

  add(rows: readonly AccessLogRow[]): void {
    const { merges, values: of } = this;
    const width = GRAIN_MS[this.finest];
    const keyOf = this.def.key.of;
    let lastBucket = Number.NaN;
    let byKey: Map<string | number, number[]> | undefined;
    for (const row of rows) {
      const bucket = Math.floor(row.timestamp / width) * width;
      // Rows come mostly in time order: the bucket map is usually the one just used.
      if (bucket !== lastBucket || !byKey) {
        lastBucket = bucket;
        byKey = this.buckets.get(bucket);
        if (!byKey) {
          byKey = new Map();
          this.buckets.set(bucket, byKey);
        }
      }
      const k = keyOf(row);
      const current = byKey.get(k);
      if (current === undefined) {
        const fresh = new Array<number>(of.length);
        for (let i = 0; i < of.length; i++) fresh[i] = (of[i] as (r: AccessLogRow) => number)(row);
        byKey.set(k, fresh);
        this.size++;
        continue;
      }
      for (let i = 0; i < of.length; i++) {
        const v = (of[i] as (r: AccessLogRow) => number)(row);
        const merge = merges[i];
        const c = current[i] as number;
        current[i] = merge === 'sum' ? c + v : merge === 'min' ? Math.min(v, c) : Math.max(v, c);
      }
    }
  }

  /** The held deltas folded to one grain: bucket start -> key -> values. */
  private fold(grain: Grain): Map<number, Map<string | number, number[]>> {
    if (grain === this.finest) return this.buckets;
    const folded = new Map<number, Map<string | number, number[]>>();
    for (const [bucket, byKey] of this.buckets) {
      const start = floorTo(bucket, grain);
      let into = folded.get(start);
      if (!into) {
        into = new Map();
        folded.set(start, into);
      }
      for (const [key, values] of byKey) {
        const existing = into.get(key);
        if (!existing) into.set(key, [...values]);
        else
          for (let i = 0; i < values.length; i++) {
            const a = existing[i] as number;
            const b = values[i] as number;
            const merge = this.merges[i];
            existing[i] = merge === 'sum' ? a + b : merge === 'min' ? Math.min(b, a) : Math.max(b, a);
          }
      }
    }
    return folded;
  }

  /**
   * The VALUES tuples to apply, in primary-key order (grain, bucket, key): two writers touching
   * the same rows lock them in the same order, which keeps them from deadlocking.
   */
  *tuples(): Generator<string> {
    const grains = [...this.def.grains].sort((a, b) => GRAIN_ORDER[a] - GRAIN_ORDER[b]);
    for (const grain of grains) {
      const folded = this.fold(grain);
      for (const bucket of [...folded.keys()].sort((a, b) => a - b)) {
        const byKey = folded.get(bucket) as Map<string | number, number[]>;
        // The ENUM's index stands for its name; the bucket needs no milliseconds: less to send.
        const head = `,${GRAIN_ORDER[grain]},'${sqlDateTime(bucket).slice(0, 19)}'`;
        const keys = [...byKey.keys()];
        // One table's keys are all numbers or all strings; strings sort fastest without a comparator.
        if (typeof keys[0] === 'number') keys.sort((a, b) => (a as number) - (b as number));
        else keys.sort();
        for (const key of keys) {
          const values = byKey.get(key) as number[];
          let tuple = `(${typeof key === 'number' ? key : quote(key)}${head}`;
          for (const v of values) tuple += `,${v}`;
          yield `${tuple})`;
        }
      }
    }
  }

  clear(): void {
    this.buckets.clear();
    this.size = 0;
  }
}

/** The grain column is an ENUM('minute', 'hour', 'day', 'week'): these are its indexes, and its sort order. */
const GRAIN_ORDER: Record<Grain, number> = { minute: 1, hour: 2, day: 3, week: 4 };

/** A string literal: the driver's escaping, skipped for the usual key with nothing to escape. */
function quote(text: string): string {
  return NEEDS_ESCAPE.test(text) ? mysql.escape(text) : `'${text}'`;
}
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL, backspace and Ctrl-Z are what the driver escapes.
const NEEDS_ESCAPE = /[\0\b\t\n\r\x1a"'\\]/;

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

  /** Some table holds enough in memory that it should be applied now (flushFull). */
  get full(): boolean {
    return this.tables.some((t) => t.size >= MAX_PENDING);
  }

  /**
   * Apply what is held (on the writer's connection, inside its transaction) and start afresh. With
   * a pipe (a large writer's), each statement is sent through it and the next is built while the
   * server runs it; the caller drains the pipe before COMMIT. Without one, each is awaited.
   */
  async flush(conn: Queryable, pipe?: StatementPipe): Promise<void> {
    for (const table of this.tables) await this.apply(table, conn, pipe);
  }

  /**
   * Apply only the tables holding MAX_PENDING entries or more. A table whose keys are few (status
   * codes) keeps adding into the same day and week rows instead of sending them again each time
   * a table with many keys (paths) fills up.
   */
  async flushFull(conn: Queryable, pipe?: StatementPipe): Promise<void> {
    for (const table of this.tables) if (table.size >= MAX_PENDING) await this.apply(table, conn, pipe);
  }

  private async apply(table: TableDeltas, conn: Queryable, pipe: StatementPipe | undefined): Promise<void> {
    if (table.size === 0) return;
    const send = pipe
      ? (sql: string) => pipe.send(() => conn.query(sql))
      : async (sql: string) => {
          await conn.query(sql);
        };
    const { def } = table;
    const head = `INSERT INTO ${rollupTableName(def)} (\`${def.key.column}\`, grain, bucket, ${def.measures.map((m) => `\`${m.column}\``).join(', ')}) VALUES `;
    const tail = ` ON DUPLICATE KEY UPDATE ${mergeAssignments(def)}`;
    let sql = head;
    let rows = 0;
    for (const tuple of table.tuples()) {
      sql += rows === 0 ? tuple : `,${tuple}`;
      if (++rows === ROWS_PER_STATEMENT) {
        await send(sql + tail);
        sql = head;
        rows = 0;
      }
    }
    if (rows > 0) await send(sql + tail);
    table.clear();
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
