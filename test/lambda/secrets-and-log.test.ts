/**
 * DB_SECRET_ARN (read once per container, failures answered without detail) and the request log
 * (one JSON line per request), through the real handler on the real MariaDB.
 * Secrets Manager is the only thing mocked: an injected client, asserted on its exact input.
 */
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
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

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:chatbot-ops/db-AbCdEf';

let db: TestDatabase;
let user: AppUser;
const client = new SecretsManagerClient({ region: 'eu-west-1' });
const secrets = mockClient(client);
const closers: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  db = await createTestDatabase('lambda_secret');
  await insertRows(db.pool, FIXTURE);
  user = await createAppUser(db);
});

afterEach(async () => {
  secrets.reset();
  await Promise.all(closers.splice(0).map((h) => h.close()));
});

afterAll(async () => {
  await db?.drop();
});

/** The secret as RDS writes it. */
function rdsSecret(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    engine: 'mariadb',
    host: db.host,
    port: db.port,
    dbname: db.database,
    username: user.user,
    password: user.password,
    ...overrides,
  });
}

function secretHandler(env: Record<string, string | undefined> = {}) {
  const made = handlerWithLog({
    env: { DB_SECRET_ARN: SECRET_ARN, API_KEYS: API_KEY, ...env },
    secretsClient: client,
  });
  closers.push(made.handler);
  return made;
}

/** Nothing a caller could use to reach the database is in this text. */
function expectNoDatabaseDetail(text: string) {
  expect(text).not.toContain(user.password);
  expect(text).not.toContain(user.user);
  expect(text).not.toContain(`${db.port}`);
  expect(text).not.toContain(db.host);
}

describe('DB_SECRET_ARN', () => {
  it('reads the secret once per container, with the ARN as SecretId', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: rdsSecret() });
    const { handler } = secretHandler();

    const first = answer(await handler(proxyEvent({ intent: 'get_traffic_summary', params: {} })));
    const second = answer(await handler({ intent: 'get_access_logs', params: { all_time: true, limit: 2 } }));

    expect(first.status).toBe(200);
    expect(first.data.total_requests).toBe(11);
    expect(second.status).toBe(200);
    expect(second.data.count).toBe(2);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(secrets.commandCalls(GetSecretValueCommand)[0]!.args[0].input).toEqual({ SecretId: SECRET_ARN });
  });

  it('fills host and database name from DB_HOST / DB_NAME for a secret with only username and password', async () => {
    secrets.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({ username: user.user, password: user.password }),
    });
    const { handler } = secretHandler({ DB_HOST: db.host, DB_PORT: String(db.port), DB_NAME: db.database });

    const result = answer(await handler({ intent: 'health' }));

    expect(result.status).toBe(200);
    expect(result.data).toMatchObject({ status: 'ok', database: { reachable: true } });
  });

  it('answers 503 when Secrets Manager cannot be read, and reads it again on the next call', async () => {
    secrets
      .on(GetSecretValueCommand)
      .rejectsOnce(
        new ResourceNotFoundException({ message: `Secrets Manager can't find ${SECRET_ARN}`, $metadata: {} }),
      )
      .resolves({ SecretString: rdsSecret() });
    const { handler, records } = secretHandler();

    const failed = answer(await handler(proxyEvent({ intent: 'health' }), { awsRequestId: 'req-secret-1' }));
    const recovered = answer(await handler(proxyEvent({ intent: 'health' })));

    expect(failed.status).toBe(503);
    expect(failed.body).toMatchObject({ success: false, error_code: 'DATABASE_UNAVAILABLE' });
    expect(failed.raw).not.toContain('secretsmanager');
    expect(failed.raw).not.toContain('123456789012');
    expect(recovered.status).toBe(200);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    // The detail is in the log, tagged with the request id.
    expect(records()).toContainEqual(
      expect.objectContaining({
        request_id: 'req-secret-1',
        level: 'ERROR',
        message: 'DATABASE_UNAVAILABLE: the database is unavailable',
        error_name: 'ResourceNotFoundException',
      }),
    );
  });

  it.each([
    ['not JSON', 'host=db;password=x'],
    ['JSON without a password', JSON.stringify({ username: 'u', host: 'h', dbname: 'd' })],
    ['a JSON array', '[]'],
  ])('answers 500 "backend misconfigured" for a secret that is %s, naming nothing', async (_label, value) => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: value });
    const { handler, lines } = secretHandler();

    const result = answer(await handler(proxyEvent({ intent: 'health' })));

    expect(result.status).toBe(500);
    expect(result.body).toMatchObject({ error_code: 'INTERNAL_ERROR', error: 'backend misconfigured' });
    expect(result.raw).not.toContain(value);
    expect(lines.join('\n')).not.toContain(value);
  });

  it('answers 500 for a secret with no SecretString (a binary secret)', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretBinary: new Uint8Array([1, 2, 3]) });
    const { handler } = secretHandler();

    const result = answer(await handler({ intent: 'health' }));

    expect(result.status).toBe(500);
    expect(result.body.error).toBe('backend misconfigured');
  });

  it('answers 503 without naming the user when the secret holds a wrong password, and logs no secret', async () => {
    secrets
      .on(GetSecretValueCommand)
      .resolves({ SecretString: rdsSecret({ password: 'wrong-password-x9' }) });
    const { handler, lines } = secretHandler();

    const result = answer(await handler(proxyEvent({ intent: 'health' })));

    expect(result.status).toBe(503);
    expect(result.body.error_code).toBe('DATABASE_UNAVAILABLE');
    expectNoDatabaseDetail(result.raw);
    expect(lines.join('\n')).not.toContain('wrong-password-x9');
    expect(lines.join('\n')).not.toContain(user.password);
  });
});

describe('the request log', () => {
  const env = () => backendEnv(db, user);

  it('writes exactly one JSON request line per request, with id, intent, source, status, duration and rows', async () => {
    const { handler, lines, records } = handlerWithLog({ env: env() });
    closers.push(handler);
    const calls: [unknown, string][] = [
      [proxyEvent({ intent: 'get_access_logs', params: { all_time: true, limit: 3 } }), 'r-ok'],
      [{ intent: 'get_ip_activity', params: { ip_address: '10.0.0.1' } }, 'r-direct'],
      [proxyEvent({ intent: 'health' }, { headers: { 'x-api-key': 'not-the-key' } }), 'r-401'],
      [proxyEvent({ intent: 'get_access_logs', params: { limit: 0 } }), 'r-400'],
      [proxyEvent('{"intent":'), 'r-json'],
    ];

    for (const [event, awsRequestId] of calls) await handler(event, { awsRequestId });

    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    const requestLines = records().filter((r) => r.message === 'request');
    expect(requestLines.map((r) => r.request_id)).toEqual(['r-ok', 'r-direct', 'r-401', 'r-400', 'r-json']);
    expect(requestLines[0]).toEqual({
      level: 'INFO',
      message: 'request',
      request_id: 'r-ok',
      intent: 'get_access_logs',
      source: 'api',
      status: 200,
      error_code: null,
      duration_ms: expect.any(Number),
      // limit + 1 rows are read to know whether there is a next page.
      rows: 4,
    });
    expect(requestLines[1]).toMatchObject({ intent: 'get_ip_activity', source: 'direct', status: 200 });
    expect(requestLines[1]!.rows).toBeGreaterThan(0);
    expect(requestLines[2]).toMatchObject({
      status: 401,
      error_code: 'UNAUTHORIZED',
      intent: 'health',
      rows: 0,
    });
    expect(requestLines[3]).toMatchObject({ status: 400, error_code: 'INVALID_PARAMS' });
    expect(requestLines[4]).toMatchObject({ status: 400, error_code: 'INVALID_JSON', intent: null });
    for (const r of requestLines) expect(r.duration_ms as number).toBeGreaterThanOrEqual(0);
  });

  it('never logs a key, a password or the request body', async () => {
    const hashed = `sha256:${(await import('../../src/lambda/index.js')).hashApiKey(API_KEY)}`;
    const { handler, lines } = handlerWithLog({ env: { ...env(), API_KEYS: hashed, LOG_LEVEL: 'DEBUG' } });
    closers.push(handler);
    const marker = 'body-marker-7f3a';

    await handler(proxyEvent({ intent: 'get_access_logs', params: { endpoint: `/${marker}` } }));
    await handler(proxyEvent({ intent: 'health', params: { note: marker } }));
    await handler(proxyEvent({ intent: 'health' }, { headers: { 'X-Api-Key': 'wrong-key-1234567' } }));

    const log = lines.join('\n');
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(log).not.toContain(API_KEY);
    expect(log).not.toContain(hashed.slice(7));
    expect(log).not.toContain('wrong-key-1234567');
    expect(log).not.toContain(user.password);
    expect(log).not.toContain(marker);
  });

  it('logs nothing below LOG_LEVEL: at ERROR a successful request writes no line', async () => {
    const { handler, lines } = handlerWithLog({ env: { ...env(), LOG_LEVEL: 'ERROR' } });
    closers.push(handler);

    await handler({ intent: 'health' });

    expect(lines).toEqual([]);
  });
});
