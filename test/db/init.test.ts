import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/db/server.js';
import { testServer } from '../support/database.js';
import { runDb, scratchDir } from './db-cli.js';

const created: string[] = [];
const newName = () => {
  const name = `init_${randomBytes(4).toString('hex')}`;
  created.push(name);
  return name;
};

async function admin() {
  const s = testServer();
  return mysql.createConnection({ host: s.host, port: s.port, user: s.user, password: s.password });
}

/** Everything `db init` could change: each table's CREATE statement and its index list. */
async function schemaSnapshot(database: string) {
  const conn = await admin();
  try {
    await conn.query(`USE \`${database}\``);
    const [tables] = await conn.query('SHOW TABLES');
    const snapshot: Record<string, unknown> = {};
    for (const t of tables as Record<string, string>[]) {
      const name = Object.values(t)[0] as string;
      const [[create]] = (await conn.query(`SHOW CREATE TABLE \`${name}\``)) as unknown as [
        Record<string, string>[],
      ];
      // The AUTO_INCREMENT counter is data, not schema.
      const ddl = (create?.['Create Table'] ?? '').replace(/ AUTO_INCREMENT=\d+/, '');
      const [indexes] = await conn.query(`SHOW INDEX FROM \`${name}\``);
      snapshot[name] = {
        ddl,
        indexes: (indexes as Record<string, unknown>[]).map((i) => [
          i.Key_name,
          i.Seq_in_index,
          i.Column_name,
          i.Non_unique,
        ]),
      };
    }
    return snapshot;
  } finally {
    await conn.end();
  }
}

describe('db init', () => {
  afterAll(async () => {
    const conn = await admin();
    for (const name of created) await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await conn.end();
  });

  it('creates the database, the table and its indexes', async () => {
    // Prepare
    const database = newName();

    // Act
    const run = await runDb(database, ['init']);

    // Assess
    expect(run.code).toBe(0);
    expect(run.out).toContain(`created database ${database}`);
    expect(run.out).toContain('created table access_logs');
    const snapshot = (await schemaSnapshot(database)) as Record<string, { indexes: unknown[][] }>;
    expect(Object.keys(snapshot).sort()).toEqual([
      'access_logs',
      'load_history',
      'rollup_agent',
      'rollup_endpoint_rt',
      'rollup_endpoint_v2',
      'rollup_ip_v2',
      'rollup_notfound',
      'rollup_referrer',
      'rollup_state',
      'rollup_status_v2',
      'rollup_visitor',
    ]);
    expect(new Set(snapshot.access_logs?.indexes.map((i) => i[0]))).toEqual(
      new Set([
        'PRIMARY',
        'idx_timestamp',
        'idx_ip_timestamp',
        'idx_endpoint_timestamp',
        'idx_status_timestamp',
      ]),
    );
  });

  it('changes nothing when run again, and says so', async () => {
    // Prepare
    const database = newName();
    await runDb(database, ['init']);
    const before = await schemaSnapshot(database);

    // Act
    const again = await runDb(database, ['init'], { json: true });

    // Assess
    expect(again.code).toBe(0);
    expect(again.result).toMatchObject({
      databaseCreated: false,
      created: [],
      unchanged: [
        'table access_logs',
        'table load_history',
        'table rollup_state',
        'table rollup_status_v2',
        'table rollup_endpoint_v2',
        'table rollup_ip_v2',
        'table rollup_agent',
        'table rollup_visitor',
        'table rollup_referrer',
        'table rollup_notfound',
        'table rollup_endpoint_rt',
      ],
    });
    expect(await schemaSnapshot(database)).toEqual(before);
  });

  it('leaves loaded rows and load history exactly as they were when run again', async () => {
    // Prepare
    const database = newName();
    await runDb(database, ['init']);
    const file = join(scratchDir(), 'a.log');
    writeFileSync(
      file,
      [
        '10.0.0.1 - - [10/Oct/2025:13:55:36 +0000] "GET /a?x=1 HTTP/1.1" 200 10 "-" "curl/8"',
        '2001:db8::1 - - [10/Oct/2025:13:55:37 +0000] "POST /b HTTP/1.1" 500 - "https://r/" "ua" 0.5',
      ].join('\n'),
    );
    await runDb(database, ['load', file]);
    const contents = async () => {
      const conn = await admin();
      await conn.query(`USE \`${database}\``);
      const [rows] = await conn.query('SELECT * FROM access_logs ORDER BY id');
      const [history] = await conn.query('SELECT * FROM load_history');
      const [[status]] = (await conn.query("SHOW TABLE STATUS LIKE 'access_logs'")) as unknown as [
        Record<string, unknown>[],
      ];
      await conn.end();
      return { rows, history, nextId: status?.Auto_increment };
    };
    const before = await contents();

    // Act
    const again = await runDb(database, ['init'], { json: true });

    // Assess
    expect(again.result).toMatchObject({ databaseCreated: false, created: [] });
    expect((before.rows as unknown[]).length).toBe(2);
    expect(await contents()).toEqual(before);
  });

  it('adds an index missing from an existing table and keeps its rows', async () => {
    // Prepare
    const database = newName();
    await runDb(database, ['init']);
    const conn = await admin();
    await conn.query(`USE \`${database}\``);
    await conn.query(
      "INSERT INTO access_logs (`timestamp`, ip_address, method, endpoint, status_code) VALUES ('2026-01-01 00:00:00', '10.0.0.1', 'GET', '/', 200)",
    );
    await conn.query('ALTER TABLE access_logs DROP INDEX idx_ip_timestamp');
    await conn.end();

    // Act
    const run = await runDb(database, ['init'], { json: true });

    // Assess
    expect(run.result).toMatchObject({ created: ['index access_logs.idx_ip_timestamp'] });
    const after = (await schemaSnapshot(database)) as Record<string, { indexes: unknown[][] }>;
    expect(after.access_logs?.indexes.filter((i) => i[0] === 'idx_ip_timestamp').map((i) => i[2])).toEqual([
      'ip_address',
      'timestamp',
      'id',
    ]);
    const stats = await runDb(database, ['stats'], { json: true });
    expect(stats.result).toMatchObject({ rows: 1 });
  });

  it('rebuilds an index whose columns differ from the schema', async () => {
    // Prepare: idx_status_timestamp made by an older schema with fewer columns
    const database = newName();
    await runDb(database, ['init']);
    const conn = await admin();
    await conn.query(`USE \`${database}\``);
    await conn.query(
      'ALTER TABLE access_logs DROP INDEX idx_status_timestamp, ADD KEY idx_status_timestamp (status_code)',
    );
    await conn.end();

    // Act
    const run = await runDb(database, ['init'], { json: true });

    // Assess
    expect(run.result).toMatchObject({
      created: ['index access_logs.idx_status_timestamp (rebuilt: its columns changed)'],
    });
    const after = (await schemaSnapshot(database)) as Record<string, { indexes: unknown[][] }>;
    expect(
      after.access_logs?.indexes.filter((i) => i[0] === 'idx_status_timestamp').map((i) => i[2]),
    ).toEqual(['status_code', 'timestamp', 'id']);
  });

  it('--no-create-database refuses to create a missing database', async () => {
    // Prepare
    const database = newName();

    // Act
    const run = await runDb(database, ['init', '--no-create-database']);

    // Assess
    expect(run.code).toBe(1);
    expect(run.err).toContain(`database "${database}" does not exist`);
  });
});

describe('connection errors', () => {
  it('names host and port when nothing listens there', async () => {
    // Prepare
    const port = await freePort();

    // Act
    const run = await runDb('any', ['stats'], { env: { DB_PORT: String(port) } });

    // Assess
    expect(run.code).toBe(1);
    expect(run.err).toContain(`cannot connect to the database at 127.0.0.1:${port}`);
    expect(run.err).toContain('Is the server running');
  });

  it('says the user was refused, and never prints the password', async () => {
    // Prepare
    const conn = await admin();
    const user = `u_${randomBytes(3).toString('hex')}`;
    await conn.query(`CREATE USER '${user}'@'127.0.0.1' IDENTIFIED BY 'right-password'`);
    await conn.end();

    // Act
    const run = await runDb('any', ['stats'], { env: { DB_USER: user, DB_PASSWORD: 'wrong-secret-value' } });

    // Assess
    expect(run.code).toBe(1);
    expect(run.err).toContain(`the database refused user "${user}"`);
    expect(run.err).toContain('DB_PASSWORD');
    expect(`${run.out}${run.err}`).not.toContain('wrong-secret-value');
    const cleanup = await admin();
    await cleanup.query(`DROP USER '${user}'@'127.0.0.1'`);
    await cleanup.end();
  });

  it('points at db init when the database does not exist', async () => {
    // Act
    const run = await runDb(`missing_${randomBytes(3).toString('hex')}`, ['stats']);

    // Assess
    expect(run.code).toBe(1);
    expect(run.err).toContain('does not exist');
    expect(run.err).toContain('chatbot-ops db init');
  });

  it.each([[['stats']], [['seed', '--rows', '10']], [['prune', '--older-than', '30d', '--yes']]])(
    '%j points at db init when the database exists without the table',
    async (args) => {
      // Prepare
      const database = newName();
      const conn = await admin();
      await conn.query(`CREATE DATABASE \`${database}\``);
      await conn.end();

      // Act
      const run = await runDb(database, args);

      // Assess
      expect(run.code).toBe(1);
      expect(run.err).toContain('the access_logs table does not exist');
    },
  );
});
