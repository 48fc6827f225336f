/**
 * Keeping the rollups (src/lambda/rollup-tables.ts) as rows are written: every writer of
 * access_logs (`db load`, the ingest function, `db seed`, the local stack) adds its rows to a
 * RollupDeltas inside its own transaction and applies them before COMMIT, so a file's rollup
 * deltas commit with its rows and a rolled-back write leaves no trace in either.
 *
 *   await conn.query('START TRANSACTION');
 *   const deltas = await RollupDeltas.start(conn);    // takes the writers' gate (shared)
 *   ... write a batch of rows; deltas.add(batch); if (deltas.full) await deltas.flushFull(conn);
 *   await deltas.flush(conn);                          // before COMMIT
 *   await conn.query('COMMIT');
 *
 * Deltas are summed in memory per grain, bucket and key, at most about MAX_PENDING entries per
 * table; a full table first sends its complete buckets (logs come in time order, so the open week
 * is not sent again at every flush), as multi-row INSERT ... ON DUPLICATE KEY UPDATE sorted in
 * primary-key order, so two writers lock shared rollup rows in the same
 * order. A writer maintains exactly the tables that have a row in rollup_state: a table `db init`
 * has not registered yet is filled by its backfill instead, never by both.
 */
import mysql from 'mysql2/promise';
import {
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
import { type AgentClass, classifyUserAgent } from './user-agent.js';

/** Entries (keys of all grains) one table holds before it is applied. */
export const MAX_PENDING = 40_000;
/**
 * A table still holding this share of MAX_PENDING after its complete buckets were applied (its
 * open buckets alone are that large) is applied whole.
 */
const OPEN_SHARE = 0.75;
/** Rows per INSERT ... ON DUPLICATE KEY UPDATE statement (well under max_allowed_packet). */
const ROWS_PER_STATEMENT = 1_000;

/**
 * One grain's held deltas: bucket start -> key -> slot, the slot's measure values being
 * `values[slot * measures .. + measures]`: one number per key in the map, not an array each.
 */
interface GrainDeltas {
  grain: Grain;
  width: number;
  buckets: Map<number, Map<string | number, number>>;
  size: number;
  values: Float64Array;
  /** Slots given out; those of sent buckets are reclaimed by `compact`. */
  slots: number;
}

/**
 * The deltas of one rollup table, held per grain. Rows come mostly in time order, so a bucket that
 * ends before the latest row seen is complete: applying those first (`tuples(true)`) sends each
 * hour, day or week row once, where applying everything would send the open week's rows again at
 * every flush.
 */
class TableDeltas {
  /** Finest first: the primary key's order (grain, bucket, key). */
  private readonly grains: GrainDeltas[];
  private readonly merges: ('sum' | 'min' | 'max')[];
  private readonly values: ((row: AccessLogRow, agent: AgentClass) => number)[];
  /** The latest row time added. */
  private latest = Number.NEGATIVE_INFINITY;

  constructor(readonly def: RollupTable) {
    this.grains = [...def.grains]
      .sort((a, b) => GRAIN_ORDER[a] - GRAIN_ORDER[b])
      .map((grain) => ({
        grain,
        width: GRAIN_MS[grain],
        buckets: new Map(),
        size: 0,
        values: new Float64Array(1024 * def.measures.length),
        slots: 0,
      }));
    this.merges = def.measures.map((m) => m.merge);
    this.values = def.measures.map((m) => m.of);
  }

  get size(): number {
    let n = 0;
    for (const g of this.grains) n += g.size;
    return n;
  }

  /** `agents[i]` is the class of `rows[i]`'s user agent. */
  add(rows: readonly AccessLogRow[], agents: readonly AgentClass[]): void {
    const { merges, values: of, grains } = this;
    const keyOf = this.def.key.of;
    const counted = this.def.rows?.of;
    const width = of.length;
    const row0 = new Array<number>(width);
    // Per grain, the bucket map used last: with rows in time order it is usually the next one's too.
    const lastBucket = grains.map(() => Number.NaN);
    const lastMap: (Map<string | number, number> | undefined)[] = grains.map(() => undefined);
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r] as AccessLogRow;
      const agent = agents[r] as AgentClass;
      if (row.timestamp > this.latest) this.latest = row.timestamp;
      if (counted && !counted(row)) continue;
      const k = keyOf(row, agent);
      for (let i = 0; i < width; i++)
        row0[i] = (of[i] as (r: AccessLogRow, a: AgentClass) => number)(row, agent);
      for (let g = 0; g < grains.length; g++) {
        const held = grains[g] as GrainDeltas;
        const bucket = Math.floor(row.timestamp / held.width) * held.width;
        let byKey = lastMap[g];
        if (bucket !== lastBucket[g] || !byKey) {
          lastBucket[g] = bucket;
          byKey = held.buckets.get(bucket);
          if (!byKey) {
            byKey = new Map();
            held.buckets.set(bucket, byKey);
          }
          lastMap[g] = byKey;
        }
        const slot = byKey.get(k);
        if (slot === undefined) {
          const at = held.slots++;
          if ((at + 1) * width > held.values.length) {
            const grown = new Float64Array(held.values.length * 2);
            grown.set(held.values);
            held.values = grown;
          }
          for (let i = 0; i < width; i++) held.values[at * width + i] = row0[i] as number;
          byKey.set(k, at);
          held.size++;
          continue;
        }
        const values = held.values;
        const base = slot * width;
        for (let i = 0; i < width; i++) {
          const v = row0[i] as number;
          const c = values[base + i] as number;
          const merge = merges[i];
          values[base + i] = merge === 'sum' ? c + v : merge === 'min' ? Math.min(v, c) : Math.max(v, c);
        }
      }
    }
  }

  /**
   * The VALUES tuples to apply, each removed as it is given, in primary-key order (grain, bucket,
   * key): two writers touching the same rows lock them in the same order, which keeps them from
   * deadlocking. `closedOnly` keeps the buckets the latest row falls in (or after).
   */
  *tuples(closedOnly: boolean): Generator<string> {
    const width = this.values.length;
    for (const held of this.grains) {
      const order = GRAIN_ORDER[held.grain];
      for (const bucket of [...held.buckets.keys()].sort((a, b) => a - b)) {
        if (closedOnly && bucket + held.width > this.latest) continue;
        const byKey = held.buckets.get(bucket) as Map<string | number, number>;
        held.buckets.delete(bucket);
        held.size -= byKey.size;
        // The ENUM's index stands for its name; the bucket needs no milliseconds: less to send.
        const head = `,${order},'${sqlDateTime(bucket).slice(0, 19)}'`;
        const keys = [...byKey.keys()];
        // One table's keys are all numbers or all strings; strings sort fastest without a comparator.
        if (typeof keys[0] === 'number') keys.sort((a, b) => (a as number) - (b as number));
        else keys.sort();
        for (const key of keys) {
          const base = (byKey.get(key) as number) * width;
          let tuple = `(${typeof key === 'number' ? key : quote(key)}${head}`;
          for (let i = 0; i < width; i++) tuple += `,${held.values[base + i]}`;
          yield `${tuple})`;
        }
      }
      compact(held, width);
    }
  }
}

/**
 * Sent buckets leave their slots unused: once fewer than half are in use, the held values move to
 * a fresh array, so memory follows what is held, not what went through.
 */
function compact(held: GrainDeltas, width: number): void {
  if (held.slots <= 2 * held.size + 1024) return;
  const values = new Float64Array(Math.max(1024, 2 * held.size) * width);
  let next = 0;
  for (const byKey of held.buckets.values()) {
    for (const [key, slot] of byKey) {
      values.set(held.values.subarray(slot * width, slot * width + width), next * width);
      byKey.set(key, next++);
    }
  }
  held.values = values;
  held.slots = next;
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
  private constructor(
    private readonly tables: TableDeltas[],
    private readonly maxPending: number,
  ) {}

  /**
   * Call inside the writer's transaction, before its first row: takes the writers' gate (a shared
   * lock held until COMMIT or ROLLBACK) and reads which rollup tables are kept. A database without
   * rollup_state (made before rollups existed) keeps none.
   */
  static async start(conn: Queryable, options: { maxPending?: number } = {}): Promise<RollupDeltas> {
    const maxPending = options.maxPending ?? MAX_PENDING;
    let names: string[];
    try {
      const [gate] = await conn.query('SELECT name FROM rollup_state WHERE name = ? LOCK IN SHARE MODE', [
        GATE,
      ]);
      if ((gate as unknown[]).length === 0) return new RollupDeltas([], maxPending);
      const [rows] = await conn.query('SELECT name FROM rollup_state WHERE name <> ?', [GATE]);
      names = (rows as { name: string }[]).map((r) => r.name);
    } catch (err) {
      if ((err as { code?: string }).code === 'ER_NO_SUCH_TABLE') return new RollupDeltas([], maxPending);
      throw err;
    }
    return new RollupDeltas(
      ROLLUP_TABLES.filter((def) => names.includes(rollupTableName(def))).map((def) => new TableDeltas(def)),
      maxPending,
    );
  }

  /** The tables this transaction keeps (by table name). */
  get tableNames(): string[] {
    return this.tables.map((t) => rollupTableName(t.def));
  }

  /** Count rows written in this transaction (synchronous: no statement is sent). */
  add(rows: readonly AccessLogRow[]): void {
    if (this.tables.length === 0) return;
    // The same class insertAccessLogRows stores with each row (cached by agent string).
    const agents = rows.map((r) => classifyUserAgent(r.user_agent));
    for (const table of this.tables) table.add(rows, agents);
  }

  /** Some table holds enough in memory that it should be applied now (flushFull). */
  get full(): boolean {
    return this.tables.some((t) => t.size >= this.maxPending);
  }

  /**
   * Apply what is held (on the writer's connection, inside its transaction) and start afresh. With
   * a pipe (a large writer's), each statement is sent through it and the next is built while the
   * server runs it; the caller drains the pipe before COMMIT. Without one, each is awaited.
   */
  async flush(conn: Queryable, pipe?: StatementPipe): Promise<void> {
    for (const table of this.tables) await this.apply(table, false, conn, pipe);
  }

  /**
   * Apply what the tables holding MAX_PENDING entries or more have in complete buckets (those the
   * latest row is past); when that leaves such a table above half of it (rows far out of time
   * order, or one bucket with that many keys), the rest of it too. A table with few keys (status
   * codes) keeps adding into its open rows meanwhile.
   */
  async flushFull(conn: Queryable, pipe?: StatementPipe): Promise<void> {
    for (const table of this.tables) {
      if (table.size < this.maxPending) continue;
      await this.apply(table, true, conn, pipe);
      if (table.size >= this.maxPending * OPEN_SHARE) await this.apply(table, false, conn, pipe);
    }
  }

  private async apply(
    table: TableDeltas,
    closedOnly: boolean,
    conn: Queryable,
    pipe: StatementPipe | undefined,
  ): Promise<void> {
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
    for (const tuple of table.tuples(closedOnly)) {
      sql += rows === 0 ? tuple : `,${tuple}`;
      if (++rows === ROWS_PER_STATEMENT) {
        await send(sql + tail);
        sql = head;
        rows = 0;
      }
    }
    if (rows > 0) await send(sql + tail);
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
