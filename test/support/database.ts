/**
 * A fresh database per test file on the shared test server, with the schema applied.
 * Names are unique so files can run in parallel.
 */

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { inject } from 'vitest';

export const SCHEMA_SQL = readFileSync(new URL('../../templates/schema.sql', import.meta.url), 'utf8');

export interface TestDatabase {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** A pool on the new database (root), for fixtures and assertions. */
  pool: mysql.Pool;
  drop(): Promise<void>;
}

export function testServer() {
  return inject('mariadb');
}

export async function createTestDatabase(
  prefix = 't',
  options: { schema?: boolean } = {},
): Promise<TestDatabase> {
  const server = testServer();
  const database = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = await mysql.createConnection({
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
  });
  await admin.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4`);
  await admin.end();
  const pool = mysql.createPool({
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    database,
    timezone: 'Z',
    multipleStatements: true,
    connectionLimit: 4,
  });
  if (options.schema !== false) await pool.query(SCHEMA_SQL);
  return {
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    database,
    pool,
    async drop() {
      await pool.query(`DROP DATABASE IF EXISTS \`${database}\``);
      await pool.end();
    },
  };
}
