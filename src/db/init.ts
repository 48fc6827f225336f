/** `db init`: the database (created when missing and allowed) and the schema, both idempotent. */
import { type DbTarget, openPool } from './connection.js';
import { ensureDatabase, schemaRightsError } from './create-database.js';
import { applySchema } from './schema.js';

export interface InitResult {
  database: string;
  databaseCreated: boolean;
  created: string[];
  unchanged: string[];
}

export async function initDatabase(
  target: DbTarget,
  options: { createDatabase: boolean },
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
    return { database: target.database, databaseCreated, created, unchanged };
  } catch (err) {
    throw schemaRightsError(err, names);
  } finally {
    await pool.end();
  }
}
