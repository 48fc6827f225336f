/**
 * What the current login may do to the tables the ingest path writes (access_logs, load_history
 * and the rollup tables): the privileges granted
 * to it on the server (global), on the database, and on each table, as information_schema shows
 * them (to a login without rights on the mysql schema it shows exactly its own grants). doctor asks
 * the ingest function for this (its `grants` action) to check that the ingest login can write and
 * whether it is the API function's login.
 */
import type mysql from 'mysql2/promise';
import { ROLLUP_TABLES, rollupTableName } from '../lambda/rollup-tables.js';

export interface LoginPrivileges {
  /** `user@host` as the server matched the login (CURRENT_USER()). */
  user: string;
  database: string;
  /** What the login may do to each table, from any level (server, database, table), sorted. */
  tables: {
    access_logs: string[];
    load_history: string[];
    /**
     * What the login may do to every rollup table (and rollup_state): a load adds to rollup rows,
     * so it needs UPDATE there too. Absent from the answer of an ingest function built before.
     */
    rollups?: string[];
  };
}

const ROLLUP_NAMES = ['rollup_state', ...ROLLUP_TABLES.map(rollupTableName)];
const TABLES = ['access_logs', 'load_history', ...ROLLUP_NAMES];

/** The privileges of the pool's login on the pool's database and the tables a load writes. */
export async function loginPrivileges(pool: Pick<mysql.Pool, 'query'>): Promise<LoginPrivileges> {
  const [[who]] = (await pool.query('SELECT CURRENT_USER() AS user, DATABASE() AS db')) as unknown as [
    { user: string; db: string }[],
  ];
  const user = String(who?.user ?? '');
  const database = String(who?.db ?? '');
  // information_schema names a grantee 'user'@'host', quotes doubled inside.
  const at = user.lastIndexOf('@');
  const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;
  const grantee = `${quote(user.slice(0, at))}@${quote(user.slice(at + 1))}`;
  const [rows] = (await pool.query(
    `SELECT '*' AS t, PRIVILEGE_TYPE AS p FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = ?
     UNION ALL SELECT '*', PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = ? AND TABLE_SCHEMA = ?
     UNION ALL SELECT TABLE_NAME, PRIVILEGE_TYPE FROM information_schema.TABLE_PRIVILEGES
       WHERE GRANTEE = ? AND TABLE_SCHEMA = ? AND TABLE_NAME IN (?)`,
    [grantee, grantee, database, grantee, database, TABLES],
  )) as unknown as [{ t: string; p: string }[]];
  // USAGE is the server's word for "no privilege" (what every login has).
  const on = (table: string) =>
    [
      ...new Set(rows.filter((r) => (r.t === '*' || r.t === table) && r.p !== 'USAGE').map((r) => r.p)),
    ].sort();
  const rollups = ROLLUP_NAMES.map(on).reduce((all, next) => all.filter((p) => next.includes(p)));
  return {
    user,
    database,
    tables: { access_logs: on('access_logs'), load_history: on('load_history'), rollups },
  };
}
