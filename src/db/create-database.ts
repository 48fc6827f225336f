/**
 * The first half of `db init`: the database itself, created when missing (and allowed), on a
 * connection without a default database. Shared by the CLI (src/db/init.ts) and the ingest
 * function's `init` action, which reach the server in different ways.
 */
import { UserError } from '../errors.js';
import type { Queryable } from './schema.js';

/** Database names go into SQL as identifiers, so only the plain ones are accepted. */
export const DATABASE_NAME_RE = /^[A-Za-z0-9_$]{1,64}$/;

/** Make sure `database` exists; true when it was created now. */
export async function ensureDatabase(
  server: Queryable,
  names: { database: string; user: string },
  options: { createDatabase: boolean },
): Promise<boolean> {
  const { database, user } = names;
  if (!DATABASE_NAME_RE.test(database)) {
    throw new UserError(`"${database}" is not a database name this tool uses`, {
      hint: 'Use letters, digits, _ and $ only (up to 64).',
      exitCode: 2,
    });
  }
  const [rows] = await server.query(
    'SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
    [database],
  );
  if ((rows as unknown[]).length > 0) return false;
  if (!options.createDatabase) {
    throw new UserError(`database "${database}" does not exist`, {
      hint: 'Create it (CREATE DATABASE ... CHARACTER SET utf8mb4) or run db init without --no-create-database.',
    });
  }
  try {
    await server.query(
      `CREATE DATABASE IF NOT EXISTS \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
    );
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (
      code === 'ER_DBACCESS_DENIED_ERROR' ||
      code === 'ER_SPECIFIC_ACCESS_DENIED_ERROR' ||
      code === 'ER_ACCESS_DENIED_ERROR'
    ) {
      throw new UserError(`user "${user}" may not create database "${database}"`, {
        hint: `Ask an administrator to run: CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4; GRANT ALL ON \`${database}\`.* TO '${user}'@'%';`,
        cause: err,
      });
    }
    throw err;
  }
  return true;
}

/** A schema change refused for lack of rights, as the UserError `db init` shows. */
export function schemaRightsError(err: unknown, names: { database: string; user: string }): unknown {
  const code = (err as { code?: string }).code;
  if (code === 'ER_TABLEACCESS_DENIED_ERROR' || code === 'ER_DBACCESS_DENIED_ERROR') {
    return new UserError(`user "${names.user}" may not create or set up the tables in "${names.database}"`, {
      hint: 'Grant SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX on the database to this user, or run db init as an administrator.',
      cause: err,
    });
  }
  return err;
}
