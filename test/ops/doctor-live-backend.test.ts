/**
 * The live checks' verdicts on what the real backend answers (createHandler over the test
 * MariaDB), with its own log lines as the log tail Lambda returns: the causes doctor names come
 * from the backend as it is, not from hand-written fixtures.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BAD_INPUT_EVENT } from '../../src/doctor/aws-facts.js';
import { judgeBadInput, judgeHealth } from '../../src/doctor/checks/runtime.js';
import { createHandler } from '../../src/lambda/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('doctorlive');
});
afterAll(() => db.drop());

function environment(change: Record<string, string> = {}): Record<string, string> {
  return {
    DB_HOST: db.host,
    DB_PORT: String(db.port),
    DB_NAME: db.database,
    DB_USER: db.user,
    DB_PASSWORD: db.password,
    API_KEYS: 'sha256:0000000000000000000000000000000000000000000000000000000000000000',
    QUERY_TIMEOUT_MS: '3000',
    ...change,
  };
}

/** Invoke the real handler directly, as doctor's Lambda Invoke would, collecting its log as the tail. */
async function invoke(env: Record<string, string>, event: unknown) {
  const log: string[] = [];
  const handler = createHandler({ env, log: (line) => log.push(line) });
  try {
    const r = await handler(event, { awsRequestId: 'r-doctor' });
    return { statusCode: r.statusCode, body: r.body, ms: 1, logTail: log.join('\n'), requestId: 'r-doctor' };
  } finally {
    await handler.close();
  }
}

describe('live verdicts on the real backend', () => {
  it('passes a healthy database with its latency', async () => {
    const verdict = judgeHealth(await invoke(environment(), { intent: 'health' }));

    expect(verdict.status).toBe('pass');
    expect(verdict.evidence).toMatch(/^database reachable, query [\d.]+ ms/);
  });

  it.each([
    [
      'a wrong password',
      { DB_PASSWORD: 'not-the-password' },
      /refused the login/,
      /Verify the DB credentials/,
    ],
    [
      'an unknown database',
      { DB_NAME: 'no_such_db' },
      /does not exist \(unknown database\)/,
      /Check DB_NAME/,
    ],
    ['a closed port', { DB_PORT: '1' }, /refused the connection/, /database.host and database.port/],
  ])('names %s as the cause', async (_what, change, cause, fix) => {
    const verdict = judgeHealth(await invoke(environment(change), { intent: 'health' }));

    expect(verdict.status).toBe('fail');
    expect(verdict.evidence).toMatch(
      /^health answered 503 DATABASE_UNAVAILABLE "the database is unavailable" \(request r-doctor\)/,
    );
    expect(verdict.evidence).toMatch(cause);
    expect(verdict.fix).toMatch(fix);
    expect(`${verdict.evidence} ${verdict.fix}`).not.toMatch(/not-the-password|no_such_db_user/);
  });

  it('finds the backend validating input without leaking detail', async () => {
    const env = environment();

    const verdict = judgeBadInput(await invoke(env, BAD_INPUT_EVENT), env);

    expect(verdict).toEqual({
      status: 'pass',
      evidence: '400 INVALID_PARAMS for an injection attempt and limit -1, no internals in the message',
    });
  });
});
