/**
 * SQL injection (issue 2): hostile text in every string parameter of every intent answers either
 * INVALID_PARAMS or exactly the rows a literal match gives, and the table is intact afterwards.
 * The handler connects as the database owner (not the SELECT-only user), so an injected DROP or
 * DELETE would have the rights to do damage, and the checks after would see it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackendHandler } from '../../src/lambda/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import {
  answer,
  backendEnv,
  FIXTURE,
  type FixtureRow,
  handlerWithLog,
  insertRows,
  proxyEvent,
} from './support.js';

/** Hostile strings. None ends in a space (MariaDB's PAD SPACE `=` would ignore it, a JS literal match would not). */
const PAYLOADS = [
  "' OR '1'='1",
  "' OR 1=1 -- x",
  '" OR ""="',
  "') OR ('a'='a",
  '1; DROP TABLE access_logs; --',
  "x'; DELETE FROM access_logs; #",
  "' UNION SELECT user, password, 1, 1, 1, 1, 1, 1, 1, 1, 1 FROM mysql.user -- x",
  "/api/users' AND SLEEP(3) AND '1'='1",
  '/api/users\\',
  "\\'; TRUNCATE access_logs; --",
  '%',
  '_',
  '/api/%',
  "/*!50000 ' OR 1=1 */",
  '`access_logs`',
  "' OR 'x' LIKE '%",
  "\u0000'; DROP TABLE access_logs; --",
  '\u2019 OR 1=1 --\u00a0x',
  '0x27204f5220313d31',
  "'||(SELECT password FROM mysql.user LIMIT 1)||'",
  "GET' --",
  "get'--",
];

/**
 * Rows whose endpoint is a payload itself, so a literal match has something to find and a match
 * that read the payload as SQL (or as a LIKE pattern) would find something else.
 */
const PAYLOAD_ROWS: FixtureRow[] = PAYLOADS.filter((p) => !p.includes('\u0000')).map((p, i) => ({
  ts: `2024-02-0${1 + (i % 9)} 10:00:${String(i).padStart(2, '0')}.000`,
  ip: '10.7.7.7',
  method: i % 2 === 0 ? 'GET' : "GET'--",
  endpoint: p,
  qs: null,
  status: i % 3 === 0 ? 500 : 200,
  bytes: 1,
  rt: 1,
  referrer: null,
  ua: null,
}));

/** Every row in insertion order: row N has id N. */
const ALL_ROWS = [...FIXTURE, ...PAYLOAD_ROWS];

let db: TestDatabase;
let handler: BackendHandler;

interface TableState {
  count: number;
  checksum: number;
  tables: string[];
}

async function tableState(): Promise<TableState> {
  const [[counted]] = (await db.pool.query('SELECT COUNT(*) AS n FROM access_logs')) as unknown as [
    { n: number }[],
  ];
  const [[summed]] = (await db.pool.query('CHECKSUM TABLE access_logs EXTENDED')) as unknown as [
    { Checksum: number }[],
  ];
  const [tables] = (await db.pool.query('SHOW TABLES')) as unknown as [Record<string, string>[]];
  return {
    count: Number(counted!.n),
    checksum: Number(summed!.Checksum),
    tables: tables.map((t) => Object.values(t)[0]!).sort(),
  };
}

let before: TableState;

beforeAll(async () => {
  db = await createTestDatabase('lambda_sqli');
  await insertRows(db.pool, ALL_ROWS);
  // The owner's account: full rights on the database, so injected statements could do harm.
  handler = handlerWithLog({ env: backendEnv(db, { user: db.user, password: db.password }) }).handler;
  before = await tableState();
});

afterAll(async () => {
  await handler?.close();
  await db?.drop();
});

/** Ids of the rows a literal filter matches, newest first then highest id, as the intents order them. */
function literalIds(match: (row: FixtureRow) => boolean): number[] {
  return ALL_ROWS.map((row, i) => ({ row, id: i + 1 }))
    .filter(({ row }) => match(row))
    .sort((a, b) => b.row.ts.localeCompare(a.row.ts) || b.id - a.id)
    .map(({ id }) => id);
}

async function call(intent: string, params: Record<string, unknown>) {
  return answer(await handler(proxyEvent({ intent, params })));
}

type Outcome = { ids: number[] } | 'invalid';

/** The answer is INVALID_PARAMS naming the field, or 200 with exactly `literal` (when a literal match is possible). */
function expectSafe(result: ReturnType<typeof answer>, field: string, literal: Outcome) {
  if (result.status === 400) {
    expect(result.body.error_code).toBe('INVALID_PARAMS');
    expect(result.body.error).toContain(field);
    return;
  }
  expect(literal, `a ${field} that can only be refused was accepted`).not.toBe('invalid');
  expect(result.status).toBe(200);
  expect((result.data.logs as { id: number }[]).map((l) => l.id)).toEqual((literal as { ids: number[] }).ids);
}

const LOG_INTENTS = [
  ['get_access_logs', () => true],
  ['get_error_logs', (row: FixtureRow) => row.status >= 400],
] as const;

describe.each(LOG_INTENTS)('%s', (intent, base) => {
  it.each(PAYLOADS)('endpoint %j matches literally or is refused', async (payload) => {
    const result = await call(intent, { endpoint: payload, all_time: true, limit: 1000 });

    expectSafe(result, 'endpoint', { ids: literalIds((r) => base(r) && r.endpoint === payload) });
  });

  it.each(PAYLOADS)('endpoint_prefix %j matches literally or is refused', async (payload) => {
    const result = await call(intent, { endpoint_prefix: payload, all_time: true, limit: 1000 });

    expectSafe(result, 'endpoint_prefix', {
      ids: literalIds((r) => base(r) && r.endpoint.startsWith(payload)),
    });
  });

  it.each(PAYLOADS)('method %j matches literally or is refused', async (payload) => {
    const result = await call(intent, { method: payload, all_time: true, limit: 1000 });

    expectSafe(result, 'method', { ids: literalIds((r) => base(r) && r.method === payload.toUpperCase()) });
  });

  it.each(PAYLOADS)('ip_address %j is refused', async (payload) => {
    expectSafe(await call(intent, { ip_address: payload, all_time: true }), 'ip_address', 'invalid');
  });

  it.each(PAYLOADS)('cursor %j is refused', async (payload) => {
    expectSafe(await call(intent, { cursor: payload }), 'cursor', 'invalid');
  });

  it.each(['start_time', 'end_time', 'hours', 'all_time', 'limit', 'status_code'])(
    '%s as hostile text is refused',
    async (field) => {
      for (const payload of PAYLOADS) {
        const result = await call(intent, { [field]: `${payload}` });
        expectSafe(result, field, 'invalid');
      }
      // A date followed by SQL is not a date.
      expectSafe(await call(intent, { [field]: "2024-05-01' OR '1'='1" }), field, 'invalid');
    },
  );
});

describe('the aggregate intents', () => {
  it.each(PAYLOADS)('get_endpoint_stats endpoint %j counts literally or is refused', async (payload) => {
    const result = await call('get_endpoint_stats', { endpoint: payload, all_time: true });

    if (result.status === 400) {
      expect(result.body.error_code).toBe('INVALID_PARAMS');
      return;
    }
    const literal = ALL_ROWS.filter((r) => r.endpoint === payload);
    expect(result.status).toBe(200);
    expect(result.data.endpoints).toEqual(
      literal.length === 0 ? [] : [expect.objectContaining({ endpoint: payload, requests: literal.length })],
    );
  });

  it.each([
    ['get_ip_activity', 'ip_address'],
    ['get_ip_activity', 'start_time'],
    ['get_traffic_summary', 'start_time'],
    ['get_traffic_summary', 'end_time'],
    ['get_traffic_summary', 'top_n'],
    ['get_traffic_summary', 'hours'],
    ['get_endpoint_stats', 'top_n'],
    ['get_endpoint_stats', 'end_time'],
    ['get_traffic_timeseries', 'interval'],
    ['get_traffic_timeseries', 'start_time'],
  ])('%s refuses hostile text in %s', async (intent, field) => {
    for (const payload of PAYLOADS) {
      const params: Record<string, unknown> = { [field]: payload };
      if (intent === 'get_ip_activity' && field !== 'ip_address') params.ip_address = '10.0.0.1';
      const result = await call(intent, params);
      expect(result.status, `${field}=${JSON.stringify(payload)}`).toBe(400);
      expect(result.body.error_code).toBe('INVALID_PARAMS');
      expect(result.body.error).toContain(field);
    }
  });

  it('refuses hostile text as a parameter name, and as the intent name, echoing no SQL', async () => {
    for (const payload of PAYLOADS) {
      const asName = await call('get_traffic_summary', { [payload]: 1 });
      expect(asName.body.error_code).toBe('INVALID_PARAMS');

      const asIntent = await call(payload, {});
      expect(asIntent.body.error_code).toBe('UNKNOWN_INTENT');
    }
  });
});

describe('after every attempt', () => {
  it('the table has the same rows, the same checksum, and no table was added or dropped', async () => {
    // Run last in this file (vitest keeps declaration order within a file).
    const after = await tableState();

    expect(after).toEqual(before);
    expect(after.count).toBe(ALL_ROWS.length);
  });

  it('the payload rows still read back byte for byte', async () => {
    const result = await call('get_access_logs', { ip_address: '10.7.7.7', all_time: true, limit: 1000 });

    expect((result.data.logs as { endpoint: string }[]).map((l) => l.endpoint).sort()).toEqual(
      PAYLOAD_ROWS.map((r) => r.endpoint).sort(),
    );
  });
});
