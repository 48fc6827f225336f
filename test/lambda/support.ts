/**
 * Shared set-up for the backend's tests: a known fixture of access-log rows, an application user
 * with a password (so tests can check it never leaks), the environment a deployed function gets,
 * and API Gateway proxy events built the way API Gateway builds them.
 */
import { randomBytes } from 'node:crypto';
import type mysql from 'mysql2/promise';
import { createHandler, type HandlerOptions, type ProxyResult } from '../../src/lambda/index.js';
import type { TestDatabase } from '../support/database.js';

/** The handler's clock in fixture tests: the default window is [2024-04-30T12:00Z, 2024-05-01T12:00Z). */
export const NOW = new Date('2024-05-01T12:00:00.000Z');
export const API_KEY = 'key-for-tests-0123456789abcdef';

export interface FixtureRow {
  ts: string;
  ip: string;
  method: string;
  endpoint: string;
  qs: string | null;
  status: number;
  bytes: number | null;
  rt: number | null;
  referrer: string | null;
  ua: string | null;
}

const A = '10.0.0.1';
const B = '10.0.0.2';
const C = '2001:db8::7';
const D = '192.168.1.1';

const row = (
  ts: string,
  ip: string,
  method: string,
  endpoint: string,
  status: number,
  rt: number | null,
  extra: Partial<FixtureRow> = {},
): FixtureRow => ({
  ts,
  ip,
  method,
  endpoint,
  qs: null,
  status,
  bytes: 100,
  rt,
  referrer: null,
  ua: null,
  ...extra,
});

/**
 * Inserted in this order, so row N has id N. Rows 1-11 fall in the default window; 12 is 1 ms
 * before it, 17 exactly at its (exclusive) end; 18-37 are a month earlier, for the p95 test.
 */
export const FIXTURE: FixtureRow[] = [
  row('2024-05-01 11:59:59.999', A, 'GET', '/api/users', 200, 20, {
    qs: 'page=2',
    bytes: 512,
    referrer: 'https://example.com/',
    ua: 'curl/8.5',
  }),
  row('2024-05-01 11:30:00.000', A, 'GET', '/api/users', 200, 30),
  row('2024-05-01 11:30:00.000', B, 'POST', '/api/login', 401, 15, { ua: 'Mozilla/5.0' }),
  row('2024-05-01 11:00:00.500', B, 'POST', '/api/login', 200, 25),
  row('2024-05-01 10:00:00.000', C, 'GET', '/static/app.js', 304, 5, { bytes: null, referrer: '-', ua: '' }),
  row('2024-05-01 09:00:00.000', A, 'GET', '/api/users/42', 404, 8),
  row('2024-05-01 08:00:00.000', D, 'DELETE', '/api/users/42', 500, 300),
  row('2024-05-01 07:00:00.000', A, 'GET', '/api/users', 200, 40),
  row('2024-05-01 06:00:00.000', D, 'GET', '/api/users', 503, 1000),
  row('2024-05-01 01:00:00.000', B, 'GET', '/', 200, null),
  row('2024-04-30 12:00:00.000', C, 'GET', '/api_v2/x', 200, 12),
  row('2024-04-30 11:59:59.999', A, 'GET', '/api/users', 200, 10),
  row('2024-04-29 00:00:00.000', D, 'GET', '/apiXv2', 200, 10),
  row('2024-04-25 00:00:00.000', D, 'GET', '/100%/done', 404, 10),
  row('2024-04-25 00:00:00.000', D, 'GET', '/100x/done', 200, 10),
  row('2024-01-01 00:00:00.000', B, 'PUT', '/api/users/42', 201, 10),
  row('2024-05-01 12:00:00.000', A, 'GET', '/api/users', 200, 10),
  ...Array.from({ length: 20 }, (_, i) =>
    row(`2024-03-01 00:${String(i).padStart(2, '0')}:00.000`, '10.9.9.9', 'GET', '/p95', 200, i + 1),
  ),
];

export async function insertRows(pool: mysql.Pool, rows: readonly FixtureRow[]): Promise<void> {
  await pool.query(
    'INSERT INTO access_logs (`timestamp`, ip_address, method, endpoint, query_string, status_code, bytes_sent, response_time_ms, referrer, user_agent) VALUES ?',
    [rows.map((r) => [r.ts, r.ip, r.method, r.endpoint, r.qs, r.status, r.bytes, r.rt, r.referrer, r.ua])],
  );
}

export interface AppUser {
  user: string;
  password: string;
}

/** A least-privilege user (SELECT only) with a distinctive password, as the deployed function has. */
export async function createAppUser(db: TestDatabase): Promise<AppUser> {
  const user = `app_${randomBytes(4).toString('hex')}`;
  const password = `pw-${randomBytes(12).toString('hex')}`;
  await db.pool.query(`CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'`);
  await db.pool.query(`GRANT SELECT ON \`${db.database}\`.* TO '${user}'@'%'`);
  return { user, password };
}

/** The environment the deployed function gets (src/lambda/settings.ts), pointing at a test database. */
export function backendEnv(
  db: Pick<TestDatabase, 'host' | 'port' | 'database'>,
  user: AppUser,
  overrides: Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  return {
    DB_HOST: db.host,
    DB_PORT: String(db.port),
    DB_NAME: db.database,
    DB_USER: user.user,
    DB_PASSWORD: user.password,
    API_KEYS: API_KEY,
    ...overrides,
  };
}

/** A handler whose log lines are kept for assertions. */
export function handlerWithLog(options: HandlerOptions) {
  const lines: string[] = [];
  const handler = createHandler({ now: () => NOW, ...options, log: (line) => lines.push(line) });
  return { handler, lines, records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

/** An API Gateway REST (payload v1) proxy event, as API Gateway builds it. */
export function proxyEvent(
  body: unknown,
  options: {
    headers?: Record<string, string>;
    multiValueHeaders?: Record<string, string[]>;
    method?: string;
    base64?: boolean;
  } = {},
) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const headers = options.headers ?? { 'x-api-key': API_KEY, 'Content-Type': 'application/json' };
  return {
    resource: '/chatbot',
    path: '/chatbot',
    httpMethod: options.method ?? 'POST',
    headers,
    multiValueHeaders:
      options.multiValueHeaders ?? Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    requestContext: {
      resourcePath: '/chatbot',
      httpMethod: options.method ?? 'POST',
      stage: 'prod',
      requestId: 'gw-1',
    },
    body: options.base64 ? Buffer.from(text, 'utf8').toString('base64') : text,
    isBase64Encoded: options.base64 ?? false,
  };
}

export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Record<string, unknown> & {
    request_id: string;
    success: boolean;
    error_code?: string;
    error?: string;
  };
  data: Record<string, unknown>;
  raw: string;
}

export function answer(result: ProxyResult): Answer {
  const body = JSON.parse(result.body);
  return { status: result.statusCode, headers: result.headers, body, data: body.data, raw: result.body };
}
