/** `db init`: the database (created when missing and allowed) and the schema, both idempotent. */
import { type ClassifyProgress, type ClassifyResult, classifyUnclassifiedRows } from './agent-backfill.js';
import { type DbTarget, openPool } from './connection.js';
import { ensureDatabase, schemaRightsError } from './create-database.js';
import { type BackfillProgress, type BackfillResult, backfillRollups } from './rollup-maintenance.js';
import { applySchema } from './schema.js';

export interface InitResult {
  database: string;
  databaseCreated: boolean;
  created: string[];
  unchanged: string[];
  /** Rollup tables filled from rows that predate them (empty when none needed it). */
  backfilled: BackfillResult;
  /** Rows whose user agent was classified now (they predate the columns or came from another writer). */
  classified?: ClassifyResult;
}

export async function initDatabase(
  target: DbTarget,
  options: {
    createDatabase: boolean;
    onBackfill?: (p: BackfillProgress) => void;
    onClassify?: (p: ClassifyProgress) => void;
  },
): Promise<InitResult> {
  const names = { database: target.database, user: target.user };
  let databaseCreated: boolean;
  const server = await openPool(target, { withoutDatabase: true });
  try {
    databaseCreated = await ensureDatabase(server, names, options);
  } finally {
    await server.end();
  }

  const pool = await openPool(target);
  try {
    const { created, unchanged } = await applySchema(pool);
    // Rows' user agents are classified first: the rollups count bots and agent classes, so a row
    // must have its class before a backfill counts it.
    const classified = await classifyUnclassifiedRows(pool, { onProgress: options.onClassify });
    // Rollup tables new to a table with rows start empty; counting those rows can take minutes on
    // a large table, and resumes where it stopped if interrupted.
    const backfilled = await backfillRollups(pool, { onProgress: options.onBackfill });
    return { database: target.database, databaseCreated, created, unchanged, backfilled, classified };
  } catch (err) {
    throw schemaRightsError(err, names);
  } finally {
    await pool.end();
  }
}
