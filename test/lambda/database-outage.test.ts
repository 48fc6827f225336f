/**
 * The database going away under a warm handler (issue 2): stopped mid-run it answers 503
 * DATABASE_UNAVAILABLE with no detail, and once the server is back the same handler instance (the
 * same container) answers 200 again. Then a connection that died while the container was frozen:
 * killed server-side (KILL <id>) while the client has not noticed, the next request is retried on
 * a new connection and answers 200.
 *
 * The outage uses a private MariaDB started for this file only; the shared server is never stopped.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type MariaDbServer, startMariaDb } from '../../src/db/server.js';
import { SCHEMA_SQL } from '../support/database.js';
import { answer, FIXTURE, handlerWithLog, insertRows, proxyEvent } from './support.js';

const DATABASE = 'outage';
const APP_USER = 'outage_app';
const APP_PASSWORD = 'pw-outage-5c1d9e0b7a';

/** Create the schema, the fixture and a SELECT-only user on a fresh server. */
async function prepare({ port, user, password }: MariaDbServer): Promise<void> {
  const admin = await mysql.createConnection({
    host: '127.0.0.1',
    port,
    user,
    password,
    multipleStatements: true,
    timezone: 'Z',
  });
  await admin.query(`CREATE DATABASE ${DATABASE} CHARACTER SET utf8mb4; USE ${DATABASE}; ${SCHEMA_SQL}`);
  await admin.query(`CREATE USER '${APP_USER}'@'%' IDENTIFIED BY '${APP_PASSWORD}'`);
  await admin.query(`GRANT SELECT ON ${DATABASE}.* TO '${APP_USER}'@'%'`);
  await admin.end();
  const pool = mysql.createPool({
    host: '127.0.0.1',
    port,
    user,
    password,
    database: DATABASE,
    timezone: 'Z',
  });
  await insertRows(pool, FIXTURE);
  await pool.end();
}

function env(port: number) {
  return {
    DB_HOST: '127.0.0.1',
    DB_PORT: String(port),
    DB_NAME: DATABASE,
    DB_USER: APP_USER,
    DB_PASSWORD: APP_PASSWORD,
    API_KEYS: 'outage-key',
    QUERY_TIMEOUT_MS: '5000',
  };
}

const summary = proxyEvent(
  { intent: 'get_traffic_summary', params: { all_time: true } },
  { headers: { 'x-api-key': 'outage-key' } },
);

let baseDir: string;
let server: MariaDbServer | undefined;

beforeAll(async () => {
  baseDir = mkdtempSync(join(tmpdir(), 'chatbot-ops-outage-'));
  server = await startMariaDb({ baseDir, keep: true });
  await prepare(server);
});

afterAll(async () => {
  await server?.stop();
  rmSync(baseDir, { recursive: true, force: true });
});

describe('the database stopped mid-run', () => {
  it('answers 503 without detail while it is down, and 200 from the same handler once it is back', async () => {
    const port = server!.port;
    const { handler, records } = handlerWithLog({ env: env(port) });
    try {
      const warm = answer(await handler(summary));
      expect(warm.status).toBe(200);
      expect(warm.data.total_requests).toBe(FIXTURE.length);

      await server!.stop();
      server = undefined;
      const down = answer(await handler(summary, { awsRequestId: 'req-down' }));
      const stillDown = answer(await handler({ intent: 'health' }));

      for (const result of [down, stillDown]) {
        expect(result.status).toBe(503);
        expect(result.body).toMatchObject({ success: false, error_code: 'DATABASE_UNAVAILABLE' });
        expect(result.raw).not.toContain('127.0.0.1');
        expect(result.raw).not.toContain(String(port));
        expect(result.raw).not.toContain(APP_USER);
        expect(result.raw).not.toContain(APP_PASSWORD);
        expect(result.raw).not.toMatch(/ECONNREFUSED|PROTOCOL_|connect /);
      }
      // The cause is logged with the request id, for the operator.
      expect(records()).toContainEqual(
        expect.objectContaining({
          request_id: 'req-down',
          message: 'DATABASE_UNAVAILABLE: the database is unavailable',
        }),
      );

      // The same data directory on the same port: what an RDS reboot or failover looks like to the function.
      server = await startMariaDb({ baseDir, port, keep: true });
      const back = answer(await handler(summary));

      expect(back.status).toBe(200);
      expect(back.data.total_requests).toBe(FIXTURE.length);
    } finally {
      await handler.close();
    }
  });
});

/**
 * A TCP relay in front of MariaDB that can "freeze" the client side of a connection: once the
 * server closes its end, the relay keeps the client's socket open and silent, as a frozen Lambda
 * container's socket stays open from its point of view. When the client next writes, the relay
 * resets the socket, as the network does for a connection the server forgot long ago.
 */
class FreezingRelay {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  /** Writes that arrived on a connection whose server side was gone. */
  writesOnDeadConnections = 0;
  connections = 0;
  port = 0;

  constructor(upstreamPort: number) {
    this.server = createServer((client) => {
      this.connections++;
      const upstream = new Socket();
      this.sockets.add(client).add(upstream);
      let upstreamGone = false;
      upstream.connect(upstreamPort, '127.0.0.1');
      client.on('data', (chunk) => {
        if (upstreamGone) {
          this.writesOnDeadConnections++;
          client.resetAndDestroy();
          return;
        }
        upstream.write(chunk);
      });
      upstream.on('data', (chunk) => client.write(chunk));
      // The server hung up: hold the client's side open and say nothing.
      upstream.on('close', () => {
        upstreamGone = true;
      });
      upstream.on('error', () => {});
      client.on('error', () => {});
      client.on('close', () => upstream.destroy());
    });
  }

  async listen(): Promise<void> {
    this.port = await freePort();
    await new Promise<void>((resolve) => this.server.listen(this.port, '127.0.0.1', resolve));
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('a connection that died while the container was frozen', () => {
  it.each([
    ['one statement', { intent: 'get_access_logs', params: { all_time: true, limit: 1000 } }, 'count'],
    [
      'three statements side by side',
      { intent: 'get_traffic_summary', params: { all_time: true } },
      'total_requests',
    ],
  ])('is replaced and the query retried once (%s): the request answers 200', async (_label, body, field) => {
    const relay = new FreezingRelay(server!.port);
    await relay.listen();
    const admin = await mysql.createConnection({
      host: '127.0.0.1',
      port: server!.port,
      user: server!.user,
      password: server!.password,
    });
    const { handler, records } = handlerWithLog({ env: env(relay.port) });
    try {
      expect(answer(await handler({ intent: 'health' })).status).toBe(200);
      const appConnections = async () => {
        const [rows] = await admin.query<mysql.RowDataPacket[]>(
          'SELECT id FROM information_schema.processlist WHERE user = ?',
          [APP_USER],
        );
        return rows.map((r) => Number(r.id));
      };
      const before = await appConnections();
      expect(before.length).toBeGreaterThan(0);

      for (const id of before) await admin.query(`KILL CONNECTION ${id}`);
      // Wait until the server has dropped them (the relay keeps the client unaware).
      for (let i = 0; i < 100 && (await appConnections()).length > 0; i++)
        await new Promise((r) => setTimeout(r, 20));
      expect(await appConnections()).toEqual([]);

      const after = answer(
        await handler(proxyEvent(body, { headers: { 'x-api-key': 'outage-key' } }), {
          awsRequestId: 'req-thawed',
        }),
      );

      expect(after.status).toBe(200);
      expect(after.data[field]).toBe(FIXTURE.length);
      // It did meet the dead connection, and went on with a new one.
      expect(relay.writesOnDeadConnections).toBeGreaterThanOrEqual(1);
      expect((await appConnections()).some((id) => !before.includes(id))).toBe(true);
      expect(records().filter((r) => r.request_id === 'req-thawed' && r.level === 'ERROR')).toEqual([]);
    } finally {
      await handler.close();
      await admin.end();
      await relay.close();
    }
  });
});
