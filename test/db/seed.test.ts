import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTraffic, seedTraffic } from '../../src/db/seed.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { runDb } from './db-cli.js';

const END = new Date('2026-06-01T00:00:00.000Z');
const ROWS = 30_000;
const DAYS = 10;

/** The rows as a sorted list of value tuples: a multiset, independent of ids and insert order. */
async function multiset(db: TestDatabase): Promise<string[]> {
  const [rows] = await db.pool.query(
    'SELECT `timestamp`, ip_address, method, endpoint, query_string, status_code, bytes_sent, response_time_ms, referrer, user_agent FROM access_logs',
  );
  return (rows as Record<string, unknown>[]).map((r) => JSON.stringify(Object.values(r))).sort();
}

describe('db seed', () => {
  let a: TestDatabase;
  let b: TestDatabase;
  beforeAll(async () => {
    a = await createTestDatabase('seed_a');
    b = await createTestDatabase('seed_b');
    await seedTraffic(a.pool, { rows: ROWS, days: DAYS, seed: 42, end: END });
  });
  afterAll(async () => {
    await a.drop();
    await b.drop();
  });

  it('writes the same rows for the same seed and end (through the CLI)', async () => {
    // Act
    const run = await runDb(
      b.database,
      ['seed', '--rows', String(ROWS), '--days', String(DAYS), '--seed', '42', '--end', END.toISOString()],
      { json: true },
    );

    // Assess
    expect(run.code).toBe(0);
    expect(run.result).toEqual({
      rows: ROWS,
      start: new Date(END.getTime() - DAYS * 86_400_000).toISOString(),
      end: END.toISOString(),
      seed: 42,
      days: DAYS,
    });
    expect(await multiset(b)).toEqual(await multiset(a));
  });

  it('gives different rows for a different seed', () => {
    // Act
    const one = [...generateTraffic({ rows: 2_000, days: 1, seed: 1, end: END })];
    const two = [...generateTraffic({ rows: 2_000, days: 1, seed: 2, end: END })];

    // Assess
    expect(one).not.toEqual(two);
    expect(one).toEqual([...generateTraffic({ rows: 2_000, days: 1, seed: 1, end: END })]);
  });

  it('looks like real traffic: 2-5% errors, mostly GET, skewed clients with IPv6 and 192.168.1.1, window respected', async () => {
    // Act
    const [[summary]] = (await a.pool.query(
      `SELECT COUNT(*) AS n, SUM(status_code >= 400) AS errors, SUM(status_code >= 500) AS server_errors,
              SUM(method = 'GET') AS gets, MIN(\`timestamp\`) AS first, MAX(\`timestamp\`) AS last,
              COUNT(DISTINCT ip_address) AS ips, SUM(ip_address LIKE '%:%') AS v6,
              SUM(ip_address = '192.168.1.1') AS famous, SUM(query_string IS NOT NULL) AS queries,
              SUM(referrer IS NULL) AS no_referrer, SUM(user_agent IS NULL) AS no_agent
         FROM access_logs`,
    )) as unknown as [[Record<string, number | string | Date>]];
    const [topPaths] = await a.pool.query(
      'SELECT endpoint, COUNT(*) AS n FROM access_logs GROUP BY endpoint ORDER BY n DESC LIMIT 5',
    );
    const [[{ paths }]] = (await a.pool.query(
      'SELECT COUNT(DISTINCT endpoint) AS paths FROM access_logs',
    )) as unknown as [[{ paths: number }]];
    const [top] = await a.pool.query(
      'SELECT ip_address, COUNT(*) AS n FROM access_logs GROUP BY ip_address ORDER BY n DESC LIMIT 10',
    );
    const [slow] = await a.pool.query(
      'SELECT AVG(response_time_ms) AS ok_ms, (SELECT AVG(response_time_ms) FROM access_logs WHERE status_code >= 500) AS err_ms FROM access_logs WHERE status_code < 400',
    );

    // Assess
    const n = Number(summary.n);
    const errorShare = Number(summary.errors) / n;
    expect(n).toBe(ROWS);
    expect(errorShare).toBeGreaterThanOrEqual(0.02);
    expect(errorShare).toBeLessThanOrEqual(0.05);
    expect(Number(summary.server_errors)).toBeGreaterThan(0);
    expect(Number(summary.gets) / n).toBeGreaterThan(0.8);
    expect(summary.first as Date).toBeInstanceOf(Date);
    expect((summary.first as Date).getTime()).toBeGreaterThanOrEqual(END.getTime() - DAYS * 86_400_000);
    expect((summary.last as Date).getTime()).toBeLessThan(END.getTime());
    expect(Number(summary.v6)).toBeGreaterThan(0);
    expect(Number(summary.famous)).toBeGreaterThan(0);
    expect(Number(summary.queries)).toBeGreaterThan(0);
    expect(Number(summary.no_referrer)).toBeGreaterThan(0);
    expect(Number(summary.no_agent)).toBeGreaterThan(0);
    // Skew: the ten busiest clients of thousands make a large share of the traffic.
    const topTen = (top as { n: number }[]).reduce((s, r) => s + Number(r.n), 0);
    expect(Number(summary.ips)).toBeGreaterThan(1_000);
    expect(topTen / n).toBeGreaterThan(0.15);
    // Paths too: thousands of distinct ones, the five busiest a quarter or more of all requests.
    const topFive = (topPaths as { n: number }[]).reduce((s, r) => s + Number(r.n), 0);
    expect(Number(paths)).toBeGreaterThan(1_000);
    expect(topFive / n).toBeGreaterThan(0.25);
    const [{ ok_ms, err_ms }] = slow as { ok_ms: string; err_ms: string }[] as [
      { ok_ms: string; err_ms: string },
    ];
    expect(Number(err_ms)).toBeGreaterThan(5 * Number(ok_ms));
  });

  it('follows a daily cycle: the busiest hour sees far more than the quietest', async () => {
    // Act
    const [hours] = await a.pool.query(
      'SELECT HOUR(`timestamp`) AS h, COUNT(*) AS n FROM access_logs GROUP BY h',
    );

    // Assess
    const counts = (hours as { n: number }[]).map((r) => Number(r.n));
    expect(counts).toHaveLength(24);
    expect(Math.max(...counts) / Math.min(...counts)).toBeGreaterThan(2.5);
  });

  it.each([
    [['seed', '--rows', '0'], /--rows must be a whole number from 1/],
    [['seed', '--days', 'many'], /--days must be a whole number/],
    [['seed', '--end', 'yesterday-ish'], /--end must be an ISO 8601 time/],
  ])('bad usage %j exits 2', async (args, message) => {
    // Act
    const run = await runDb(b.database, args);

    // Assess
    expect(run.code).toBe(2);
    expect(run.err).toMatch(message);
  });
});
