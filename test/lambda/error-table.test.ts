/**
 * Every row of the error table (docs/backend.md, "Errors") through the real handler with API Gateway proxy events:
 * status, error_code, a message for people, JSON with the request id, and no detail leaked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/db/server.js';
import { type BackendHandler, hashApiKey } from '../../src/lambda/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import {
  API_KEY,
  type AppUser,
  answer,
  backendEnv,
  createAppUser,
  FIXTURE,
  handlerWithLog,
  insertRows,
  proxyEvent,
} from './support.js';

let db: TestDatabase;
let user: AppUser;
let handler: BackendHandler;
const summary = { intent: 'get_traffic_summary', params: {} };

beforeAll(async () => {
  db = await createTestDatabase('lambda_errors');
  await insertRows(db.pool, FIXTURE);
  user = await createAppUser(db);
  handler = handlerWithLog({ env: backendEnv(db, user) }).handler;
});

afterAll(async () => {
  await handler?.close();
  await db?.drop();
});

describe('every answer', () => {
  it('is JSON with Content-Type, X-Request-Id and the Lambda request id', async () => {
    const result = await handler(proxyEvent(summary), { awsRequestId: 'req-123' });

    expect(result.headers).toMatchObject({ 'Content-Type': 'application/json', 'X-Request-Id': 'req-123' });
    expect(answer(result).body).toMatchObject({ request_id: 'req-123', success: true });
  });

  it('makes up a UUID request id without a Lambda context, for failures too', async () => {
    const result = answer(await handler(proxyEvent(summary, { method: 'GET' })));

    expect(result.body.request_id).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(result.headers['X-Request-Id']).toBe(result.body.request_id);
    expect(result.body).toMatchObject({
      success: false,
      error_code: 'METHOD_NOT_ALLOWED',
      error: expect.any(String),
    });
  });
});

describe('400', () => {
  it.each([
    ['not JSON', 'intent=health'],
    ['a JSON array', '[{"intent":"health"}]'],
    ['a JSON string', '"health"'],
    ['JSON null', 'null'],
    ['empty', ''],
    ['truncated JSON', '{"intent": "health"'],
  ])('INVALID_JSON when the body is %s', async (_label, body) => {
    const result = answer(await handler(proxyEvent(body)));

    expect(result.status).toBe(400);
    expect(result.body.error_code).toBe('INVALID_JSON');
  });

  it('INVALID_JSON when the body is not UTF-8', async () => {
    const event = {
      ...proxyEvent(''),
      body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('base64'),
      isBase64Encoded: true,
    };

    const result = answer(await handler(event));

    expect(result.body.error_code).toBe('INVALID_JSON');
  });

  it('INVALID_JSON for a direct invocation that is not an object', async () => {
    const result = answer(await handler('get_traffic_summary'));

    expect(result.body.error_code).toBe('INVALID_JSON');
  });

  it.each([
    ['no intent', { params: {} }],
    ['an intent that is not a string', { intent: 42 }],
    ['an empty intent', { intent: '  ' }],
    ['params as an array', { intent: 'health', params: [] }],
    ['params as a string', { intent: 'health', params: 'all' }],
  ])('INVALID_REQUEST for %s', async (_label, body) => {
    const result = answer(await handler(proxyEvent(body)));

    expect(result.status).toBe(400);
    expect(result.body.error_code).toBe('INVALID_REQUEST');
  });

  it('accepts params null or absent as no params', async () => {
    const withNull = answer(await handler(proxyEvent({ intent: 'get_traffic_summary', params: null })));
    const without = answer(await handler(proxyEvent({ intent: 'get_traffic_summary' })));

    expect([withNull.status, without.status]).toEqual([200, 200]);
  });

  it('UNKNOWN_INTENT lists the valid intents', async () => {
    const result = answer(await handler(proxyEvent({ intent: 'get_everything' })));

    expect(result.status).toBe(400);
    expect(result.body.error_code).toBe('UNKNOWN_INTENT');
    for (const name of ['get_traffic_summary', 'get_access_logs', 'get_error_logs', 'list_intents', 'health'])
      expect(result.body.error).toContain(name);
  });

  it.each([
    ['get_access_logs', { limit: 0 }, 'limit'],
    ['get_access_logs', { limit: 'lots' }, 'limit'],
    ['get_access_logs', { limit: 2.5 }, 'limit'],
    ['get_access_logs', { ip_address: '999.1.1.1' }, 'ip_address'],
    ['get_access_logs', { ip_address: 17 }, 'ip_address'],
    ['get_access_logs', { status_code: 600 }, 'status_code'],
    ['get_access_logs', { method: 'GE T' }, 'method'],
    ['get_access_logs', { endpoint: '' }, 'endpoint'],
    ['get_access_logs', { endpoint: '/a', endpoint_prefix: '/' }, 'endpoint_prefix'],
    ['get_access_logs', { cursor: 'not-a-cursor' }, 'cursor'],
    ['get_access_logs', { ip: '10.0.0.1' }, 'ip'],
    ['get_error_logs', { min_status: 399 }, 'min_status'],
    ['get_traffic_summary', { hours: 0 }, 'hours'],
    ['get_traffic_summary', { hours: 8761 }, 'hours'],
    ['get_traffic_summary', { top_n: 51 }, 'top_n'],
    ['get_traffic_summary', { start_time: 'yesterday' }, 'start_time'],
    ['get_traffic_summary', { start_time: '2024-02-30T00:00:00Z' }, 'start_time'],
    ['get_traffic_summary', { end_time: '2024-05-01T25:00:00' }, 'end_time'],
    ['get_traffic_summary', { start_time: '2024-05-02', end_time: '2024-05-01' }, 'start_time'],
    ['get_traffic_summary', { hours: 5, start_time: '2024-05-01' }, 'hours'],
    ['get_traffic_summary', { all_time: true, hours: 5 }, 'all_time'],
    ['get_traffic_summary', { all_time: 'yes' }, 'all_time'],
    ['get_ip_activity', {}, 'ip_address'],
    ['get_traffic_timeseries', { interval: 'week' }, 'interval'],
    ['health', { verbose: true }, 'verbose'],
  ])('INVALID_PARAMS for %s %j names %s', async (intent, params, field) => {
    const result = answer(await handler(proxyEvent({ intent, params })));

    expect(result.status).toBe(400);
    expect(result.body.error_code).toBe('INVALID_PARAMS');
    expect(result.body.error?.startsWith(`${field}:`)).toBe(true);
  });
});

describe('cursors', () => {
  async function firstCursor(params: Record<string, unknown> = {}): Promise<string> {
    const page = answer(
      await handler(proxyEvent({ intent: 'get_access_logs', params: { limit: 2, ...params } })),
    );
    return page.data.next_cursor as string;
  }

  it.each([
    ['a changed character in the position', (c: string) => `${c[0] === 'W' ? 'X' : 'W'}${c.slice(1)}`],
    ['a changed signature', (c: string) => `${c.slice(0, -2)}${c.endsWith('AA') ? 'BB' : 'AA'}`],
    ['no signature', (c: string) => c.split('.')[0]!],
    ['an extra part', (c: string) => `${c}.x`],
  ])('refuses a cursor with %s', async (_label, tamper) => {
    const cursor = tamper(await firstCursor());

    const result = answer(
      await handler(proxyEvent({ intent: 'get_access_logs', params: { limit: 2, cursor } })),
    );

    expect(result.body).toMatchObject({
      error_code: 'INVALID_PARAMS',
      error: expect.stringMatching(/^cursor:/),
    });
  });

  it('refuses a cursor forged with a made-up position', async () => {
    const payload = Buffer.from(JSON.stringify([1, Date.now(), 999999, null, null])).toString('base64url');
    const cursor = `${payload}.${Buffer.alloc(16).toString('base64url')}`;

    const result = answer(await handler(proxyEvent({ intent: 'get_access_logs', params: { cursor } })));

    expect(result.body.error_code).toBe('INVALID_PARAMS');
  });

  it.each([
    ['other filters', 'get_access_logs', { ip_address: '10.0.0.2' }],
    ['another intent', 'get_error_logs', {}],
    ['another window', 'get_access_logs', { hours: 48 }],
  ])('refuses a cursor used with %s', async (_label, intent, params) => {
    const cursor = await firstCursor();

    const result = answer(await handler(proxyEvent({ intent, params: { ...params, cursor } })));

    expect(result.body).toMatchObject({
      error_code: 'INVALID_PARAMS',
      error: expect.stringMatching(/^cursor:/),
    });
  });

  it('accepts a cursor in another container of the same deployment', async () => {
    const cursor = await firstCursor();
    const { handler: other } = handlerWithLog({ env: backendEnv(db, user) });

    const result = answer(
      await other(proxyEvent({ intent: 'get_access_logs', params: { limit: 2, cursor } })),
    );
    await other.close();

    expect(result.status).toBe(200);
    expect((result.data.logs as { id: number }[]).map((l) => l.id)).toEqual([2, 4]);
  });
});

describe('401 UNAUTHORIZED', () => {
  it.each([
    ['no x-api-key header', { 'Content-Type': 'application/json' }],
    ['a wrong key', { 'x-api-key': 'wrong-key' }],
    ['a key that differs in one character', { 'x-api-key': `${API_KEY.slice(0, -1)}X` }],
    ['the key as a sha256: entry would be written', { 'x-api-key': hashApiKey(API_KEY) }],
  ])('for %s', async (_label, headers) => {
    const result = answer(await handler(proxyEvent(summary, { headers, multiValueHeaders: {} })));

    expect(result.status).toBe(401);
    expect(result.body.error_code).toBe('UNAUTHORIZED');
  });

  it.each([
    ['X-API-Key', { headers: { 'X-API-Key': API_KEY } }],
    ['X-Api-Key', { headers: { 'X-Api-Key': API_KEY } }],
    ['only multiValueHeaders', { headers: {}, multiValueHeaders: { 'X-API-KEY': ['other', API_KEY] } }],
  ])('accepts the key in header %s', async (_label, options) => {
    const result = answer(await handler(proxyEvent(summary, { multiValueHeaders: {}, ...options })));

    expect(result.status).toBe(200);
  });

  it('accepts a key configured as sha256:<hex>, and still refuses others', async () => {
    const { handler: hashed } = handlerWithLog({
      env: backendEnv(db, user, { API_KEYS: ` old-plain-key , ${hashApiKey('new-key')} ` }),
    });

    const statuses = await Promise.all(
      ['new-key', 'old-plain-key', 'another'].map(
        async (key) => (await hashed(proxyEvent(summary, { headers: { 'x-api-key': key } }))).statusCode,
      ),
    );
    await hashed.close();

    expect(statuses).toEqual([200, 200, 401]);
  });

  it('refuses every API call when API_KEYS is empty, but still answers direct invocations', async () => {
    const { handler: keyless, records } = handlerWithLog({ env: backendEnv(db, user, { API_KEYS: '' }) });

    const viaApi = answer(await keyless(proxyEvent(summary, { headers: { 'x-api-key': '' } })));
    const direct = answer(await keyless(summary));
    await keyless.close();

    expect([viaApi.status, direct.status]).toEqual([401, 200]);
    expect(records().some((r) => r.level === 'WARN' && String(r.message).includes('API_KEYS'))).toBe(true);
  });

  it('trusts a direct invocation without any key', async () => {
    const result = answer(await handler(summary));

    expect(result.status).toBe(200);
  });
});

describe('405 METHOD_NOT_ALLOWED', () => {
  it.each(['GET', 'PUT', 'DELETE', 'OPTIONS'])('for %s', async (method) => {
    const result = answer(await handler(proxyEvent(summary, { method })));

    expect(result.status).toBe(405);
    expect(result.body.error_code).toBe('METHOD_NOT_ALLOWED');
  });
});

describe('413 PAYLOAD_TOO_LARGE', () => {
  const MAX = 200;
  /** A valid request body of exactly `size` bytes (JSON allows trailing spaces). */
  const bodyOfSize = (size: number) => JSON.stringify(summary).padEnd(size, ' ');
  let limited: BackendHandler;
  beforeAll(() => {
    limited = handlerWithLog({ env: backendEnv(db, user, { MAX_PAYLOAD_SIZE: String(MAX) }) }).handler;
  });
  afterAll(() => limited.close());

  it.each([
    ['exactly MAX_PAYLOAD_SIZE', MAX, false, 200],
    ['MAX_PAYLOAD_SIZE + 1', MAX + 1, false, 413],
    ['exactly MAX_PAYLOAD_SIZE base64-encoded (longer on the wire)', MAX, true, 200],
    ['MAX_PAYLOAD_SIZE + 1 base64-encoded', MAX + 1, true, 413],
  ])('a body of %s answers %i', async (_label, size, base64, status) => {
    const result = answer(await limited(proxyEvent(bodyOfSize(size), { base64: base64 as boolean })));

    expect(result.status).toBe(status);
    if (status === 413) expect(result.body.error_code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('counts bytes, not characters', async () => {
    // 67 three-byte characters: 201 bytes, far fewer characters.
    const body = JSON.stringify({ intent: 'get_traffic_summary', params: {}, note: '' }).replace(
      '""',
      `"${'€'.repeat(67)}"`,
    );

    const result = answer(await limited(proxyEvent(body)));

    expect(Buffer.byteLength(body)).toBeGreaterThan(MAX);
    expect(result.status).toBe(413);
  });

  it('reads a base64 body', async () => {
    const result = answer(
      await handler(proxyEvent({ intent: 'get_access_logs', params: { limit: 1 } }, { base64: true })),
    );

    expect(result.status).toBe(200);
    expect((result.data.logs as unknown[]).length).toBe(1);
  });
});

describe('500 INTERNAL_ERROR', () => {
  it.each([
    ['DB_HOST missing', { DB_HOST: undefined }, 'DB_HOST'],
    ['DB_HOST a URL', { DB_HOST: 'mysql://db.abc.us-east-1.rds.amazonaws.com:3306' }, 'DB_HOST is a URL'],
    [
      'DB_HOST with a port',
      { DB_HOST: 'db.abc.us-east-1.rds.amazonaws.com:3306' },
      'DB_HOST includes a port',
    ],
    ['DB_PASSWORD missing', { DB_PASSWORD: undefined }, 'DB_PASSWORD'],
    ['MAX_PAYLOAD_SIZE not a number', { MAX_PAYLOAD_SIZE: '1MB' }, 'MAX_PAYLOAD_SIZE'],
    ['QUERY_TIMEOUT_MS negative', { QUERY_TIMEOUT_MS: '-5' }, 'QUERY_TIMEOUT_MS'],
    ['DB_PORT out of range', { DB_PORT: '70000' }, 'DB_PORT'],
    ['DB_SSL not a boolean', { DB_SSL: 'maybe' }, 'DB_SSL'],
    ['LOG_LEVEL unknown', { LOG_LEVEL: 'LOUD' }, 'LOG_LEVEL'],
    ['API_KEYS with a broken hash', { API_KEYS: 'sha256:abc123' }, 'API_KEYS'],
  ])('"backend misconfigured" when %s, logged once naming it', async (_label, overrides, variable) => {
    const { handler: broken, records } = handlerWithLog({ env: backendEnv(db, user, overrides) });

    const results = [];
    for (let i = 0; i < 3; i++) results.push(answer(await broken(proxyEvent(summary))));
    await broken.close();

    for (const result of results) {
      expect(result.status).toBe(500);
      expect(result.body).toMatchObject({ error_code: 'INTERNAL_ERROR', error: 'backend misconfigured' });
    }
    const problems = records().filter((r) => String(r.message).startsWith('backend misconfigured'));
    expect(problems).toHaveLength(1);
    expect(JSON.stringify(problems[0])).toContain(variable);
    expect(JSON.stringify(records())).not.toContain(user.password);
  });

  it('hides what went wrong in the database, and logs it with the request id', async () => {
    const bare = await createTestDatabase('lambda_noschema', { schema: false });
    const bareUser = await createAppUser(bare);
    const { handler: noTable, records } = handlerWithLog({ env: backendEnv(bare, bareUser) });

    const result = answer(await noTable(proxyEvent(summary), { awsRequestId: 'req-no-table' }));
    await noTable.close();
    await bare.drop();

    expect(result.status).toBe(500);
    expect(result.body).toEqual({
      request_id: 'req-no-table',
      success: false,
      error: 'internal error',
      error_code: 'INTERNAL_ERROR',
    });
    const detail = records().find(
      (r) => r.request_id === 'req-no-table' && r.level === 'ERROR' && r.message !== 'request',
    );
    expect(String(detail?.error)).toContain('access_logs');
  });
});

describe('503 DATABASE_UNAVAILABLE', () => {
  it('when nothing listens on the database port, without naming host or port', async () => {
    const port = await freePort();
    const { handler: nowhere, records } = handlerWithLog({
      env: backendEnv({ host: '127.0.0.1', port, database: db.database }, user),
    });

    const result = answer(await nowhere(proxyEvent(summary), { awsRequestId: 'req-down' }));
    await nowhere.close();

    expect(result.status).toBe(503);
    expect(result.body).toEqual({
      request_id: 'req-down',
      success: false,
      error: 'the database is unavailable',
      error_code: 'DATABASE_UNAVAILABLE',
    });
    expect(result.raw).not.toContain(String(port));
    expect(
      records().some((r) => r.request_id === 'req-down' && String(r.error_driver_code) === 'ECONNREFUSED'),
    ).toBe(true);
  });

  it('when the login is refused, without naming the user', async () => {
    const { handler: refused } = handlerWithLog({
      env: backendEnv(db, { user: user.user, password: 'not-the-password' }),
    });

    const result = answer(await refused(proxyEvent(summary)));
    await refused.close();

    expect(result.status).toBe(503);
    expect(result.body.error_code).toBe('DATABASE_UNAVAILABLE');
    expect(result.raw).not.toContain(user.user);
  });

  it('when DB_SSL requires TLS the server does not offer: never falls back to plain text', async () => {
    const { handler: tls } = handlerWithLog({ env: backendEnv(db, user, { DB_SSL: 'true' }) });

    const result = answer(await tls(proxyEvent(summary)));
    await tls.close();

    expect(result.status).toBe(503);
  });
});

describe('504 QUERY_TIMEOUT', () => {
  it('when a query runs past QUERY_TIMEOUT_MS (here: blocked by a table lock)', async () => {
    const { handler: impatient } = handlerWithLog({ env: backendEnv(db, user, { QUERY_TIMEOUT_MS: '300' }) });
    const locker = await db.pool.getConnection();
    await locker.query('LOCK TABLES access_logs WRITE');

    const result = answer(await impatient(proxyEvent(summary)));
    await locker.query('UNLOCK TABLES');
    locker.release();
    const after = answer(await impatient(proxyEvent(summary)));
    await impatient.close();

    expect(result.status).toBe(504);
    expect(result.body.error_code).toBe('QUERY_TIMEOUT');
    expect(after.status).toBe(200);
  });
});
