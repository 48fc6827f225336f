/**
 * Applying templates/schema.sql, plus the small bookkeeping table
 * `db load` uses to stay convergent. Idempotent: tables are created only when missing, and an
 * existing table that lacks one of the schema's indexes gets just that index added (and an index
 * whose columns differ from the schema's is rebuilt), and a column the schema has and the table
 * lacks is appended (the user-agent classification added three), so a table made by hand (the manual
 * deployment creates it with its own SQL), or by an older version, is brought up to what the intents need. Existing
 * columns are never altered: data is not this command's to change.
 */
import { readFileSync } from 'node:fs';
import type mysql from 'mysql2/promise';
import { ensureRollupTables } from './rollup-maintenance.js';

/**
 * Files `db load` has loaded, by SHA-256 of their text (after gunzip, so a log and its .gz copy are one input), written in the
 * same transaction as the file's rows: a re-run skips a file already here and never duplicates it.
 */
export const LOAD_HISTORY_SQL = `CREATE TABLE IF NOT EXISTS load_history (
  sha256     CHAR(64)        CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  source     VARCHAR(1024)   NOT NULL,
  bytes      BIGINT UNSIGNED NOT NULL,
  \`lines\`    BIGINT UNSIGNED NOT NULL,
  loaded     BIGINT UNSIGNED NOT NULL,
  errors     BIGINT UNSIGNED NOT NULL,
  loaded_at  DATETIME(3)     NOT NULL,
  PRIMARY KEY (sha256)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci`;

/** Anything with mysql2's promise `query`: a Connection, a PoolConnection or a Pool. */
export type Queryable = Pick<mysql.Connection, 'query'>;

export interface SchemaTable {
  name: string;
  /** The CREATE TABLE IF NOT EXISTS statement. */
  sql: string;
  /** Secondary indexes declared in the statement: name and column list as written. */
  indexes: { name: string; columns: string }[];
  /** Columns in order: name and definition as written. */
  columns: { name: string; definition: string }[];
}

/**
 * templates/schema.sql, read from the package: two levels above this module both from src/ (vitest,
 * tsx) and from build/ (tsc). Resolved on call, not at load: the ingest function's bundle has no
 * import.meta and carries the text itself (src/ingest/schema-text.ts).
 */
export function readSchemaSql(): string {
  return readFileSync(new URL('../../templates/schema.sql', import.meta.url), 'utf8');
}

/**
 * Split schema SQL into statements. Comment lines go first, because they may hold semicolons
 * (schema.sql explains a key limit in one); a statement ends at a semicolon closing a line.
 */
export function splitSqlStatements(sql: string): string[] {
  const text = sql
    .split('\n')
    .map((line) => line.replace(/^\s*--.*$/, ''))
    .join('\n');
  return text
    .split(/;\s*$/m)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** The tables a schema declares (only CREATE TABLE IF NOT EXISTS statements are accepted: they are the idempotent kind). */
export function parseSchemaTables(sql: string): SchemaTable[] {
  return splitSqlStatements(sql).map((statement) => {
    const head = /^CREATE\s+TABLE\s+IF\s+NOT\s+EXISTS\s+`?(\w+)`?/i.exec(statement);
    if (!head?.[1])
      throw new Error(`schema statement is not CREATE TABLE IF NOT EXISTS: ${statement.slice(0, 60)}`);
    const indexes: SchemaTable['indexes'] = [];
    for (const m of statement.matchAll(/^\s*(?:UNIQUE\s+)?KEY\s+`?(\w+)`?\s*\((.*)\)\s*,?\s*$/gim)) {
      if (m[1] && m[2]) indexes.push({ name: m[1], columns: m[2] });
    }
    const columns: SchemaTable['columns'] = [];
    for (const m of statement.matchAll(/^\s*`?(\w+)`?\s+([A-Z].*?)\s*,?\s*$/gm)) {
      if (m[1] && m[2] && !/^(PRIMARY|KEY|UNIQUE|CONSTRAINT|CREATE|\))$/i.test(m[1]))
        columns.push({ name: m[1], definition: m[2] });
    }
    return { name: head[1], sql: statement, indexes, columns };
  });
}

async function existingTables(conn: Queryable): Promise<Set<string>> {
  const [rows] = await conn.query(
    'SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()',
  );
  return new Set((rows as { name: string }[]).map((r) => r.name));
}

/** Column names of a table, lower-case. */
async function existingColumns(conn: Queryable, table: string): Promise<Set<string>> {
  const [rows] = await conn.query(
    'SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
    [table],
  );
  return new Set((rows as { name: string }[]).map((r) => r.name.toLowerCase()));
}

/** Existing indexes of a table: name to column list in order. */
async function existingIndexes(conn: Queryable, table: string): Promise<Map<string, string[]>> {
  const [rows] = await conn.query(
    'SELECT INDEX_NAME AS name, COLUMN_NAME AS col FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY INDEX_NAME, SEQ_IN_INDEX',
    [table],
  );
  const indexes = new Map<string, string[]>();
  for (const r of rows as { name: string; col: string }[])
    indexes.set(r.name, [...(indexes.get(r.name) ?? []), r.col]);
  return indexes;
}

/** Column names of an index definition as written in the schema: "`timestamp`, id" gives [timestamp, id]. */
export function indexColumns(columns: string): string[] {
  return columns.split(',').map(
    (c) =>
      c
        .trim()
        .replace(/\(\d+\)$/, '')
        .replace(/`/g, '')
        .split(/\s+/)[0] as string,
  );
}

/**
 * Apply templates/schema.sql, the load_history table and the rollup tables
 * (src/lambda/rollup-tables.ts) to the connection's current database. Returns what it made (`table access_logs`, `index
 * access_logs.idx_timestamp` when an index had to be added to an existing table) and what was
 * already there. Running it again changes nothing. Rollup tables added to a table that has rows
 * are registered empty: `backfillRollups` (run by `db init`) then counts those rows.
 */
export async function applySchema(
  conn: mysql.Connection | mysql.Pool,
  schemaSql: string = readSchemaSql(),
): Promise<{ created: string[]; unchanged: string[] }> {
  const db = conn as Queryable;
  const [current] = await db.query('SELECT DATABASE() AS name');
  if (!(current as { name: string | null }[])[0]?.name) {
    throw new Error('applySchema needs a connection with a database selected');
  }
  const tables = [...parseSchemaTables(schemaSql), ...parseSchemaTables(LOAD_HISTORY_SQL)];
  const before = await existingTables(db);
  const created: string[] = [];
  const unchanged: string[] = [];
  for (const table of tables) {
    if (!before.has(table.name)) {
      await db.query(table.sql);
      created.push(`table ${table.name}`);
      continue;
    }
    const haveColumns = await existingColumns(db, table.name);
    for (const column of table.columns) {
      if (haveColumns.has(column.name.toLowerCase())) continue;
      await db.query(
        `ALTER TABLE \`${table.name}\` ADD COLUMN IF NOT EXISTS \`${column.name}\` ${column.definition}`,
      );
      created.push(`column ${table.name}.${column.name}`);
    }
    const have = await existingIndexes(db, table.name);
    for (const ix of table.indexes) {
      const current = have.get(ix.name);
      if (!current) {
        await db.query(`ALTER TABLE \`${table.name}\` ADD KEY IF NOT EXISTS \`${ix.name}\` (${ix.columns})`);
        created.push(`index ${table.name}.${ix.name}`);
      } else if (current.join(',') !== indexColumns(ix.columns).join(',')) {
        // The schema changed this index since the table was made: rebuild it in one statement.
        await db.query(
          `ALTER TABLE \`${table.name}\` DROP KEY \`${ix.name}\`, ADD KEY \`${ix.name}\` (${ix.columns})`,
        );
        created.push(`index ${table.name}.${ix.name} (rebuilt: its columns changed)`);
      }
    }
    unchanged.push(`table ${table.name}`);
  }
  const rollups = await ensureRollupTables(conn);
  created.push(...rollups.created, ...rollups.dropped.map((t) => `${t} dropped (replaced by a new version)`));
  unchanged.push(...rollups.unchanged);
  return { created, unchanged };
}
