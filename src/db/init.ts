/** `db init`: the database (created when missing and allowed) and the schema, both idempotent. */
import { UserError } from '../errors.js';
import { type DbTarget, openPool } from './connection.js';
import { type BackfillProgress, backfillRollups } from './rollup-maintenance.js';
import { applySchema } from './schema.js';

export interface InitResult {
  database: string;
  databaseCreated: boolean;
  created: string[];
  unchanged: string[];
  /** Rollup tables filled from rows that predate them (empty when none needed it). */
  backfilled: { tables: string[]; ids: number };
}

/** Database names go into SQL as identifiers, so only the plain ones are accepted. */
const DATABASE_NAME_RE = /^[A-Za-z0-9_$]{1,64}$/;

export async function initDatabase(
  target: DbTarget,
  options: { createDatabase: boolean; onBackfill?: (p: BackfillProgress) => void },
): Promise<InitResult> {
  if (!DATABASE_NAME_RE.test(target.database)) {
    throw new UserError(`"${target.database}" is not a database name this tool uses`, {
      hint: 'Use letters, digits, _ and $ only (up to 64).',
      exitCode: 2,
    });
  }
  let databaseCreated = false;
  const server = await openPool(target, { withoutDatabase: true });
  try {
    const [rows] = await server.query(
      'SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
      [target.database],
    );
    if ((rows as unknown[]).length === 0) {
      if (!options.createDatabase) {
        throw new UserError(`database "${target.database}" does not exist`, {
          hint: 'Create it (CREATE DATABASE ... CHARACTER SET utf8mb4) or run db init without --no-create-database.',
        });
      }
      try {
        await server.query(
          `CREATE DATABASE IF NOT EXISTS \`${target.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
        );
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (
          code === 'ER_DBACCESS_DENIED_ERROR' ||
          code === 'ER_SPECIFIC_ACCESS_DENIED_ERROR' ||
          code === 'ER_ACCESS_DENIED_ERROR'
        ) {
          throw new UserError(`user "${target.user}" may not create database "${target.database}"`, {
            hint: `Ask an administrator to run: CREATE DATABASE \`${target.database}\` CHARACTER SET utf8mb4; GRANT ALL ON \`${target.database}\`.* TO '${target.user}'@'%';`,
            cause: err,
          });
        }
        throw err;
      }
      databaseCreated = true;
    }
  } finally {
    await server.end();
  }

  const pool = await openPool(target);
  try {
    const { created, unchanged } = await applySchema(pool);
    // Rollup tables new to a table with rows start empty; counting those rows can take minutes on
    // a large table, and resumes where it stopped if interrupted.
    const backfilled = await backfillRollups(pool, { onProgress: options.onBackfill });
    return { database: target.database, databaseCreated, created, unchanged, backfilled };
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ER_TABLEACCESS_DENIED_ERROR' || code === 'ER_DBACCESS_DENIED_ERROR') {
      throw new UserError(`user "${target.user}" may not create tables in "${target.database}"`, {
        hint: 'Grant CREATE, ALTER, INDEX on the database to this user, or run db init as an administrator.',
        cause: err,
      });
    }
    throw err;
  } finally {
    await pool.end();
  }
}
