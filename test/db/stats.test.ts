import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertAccessLogRows } from '../../src/db/access-log-row.js';
import { indexColumns, parseSchemaTables, readSchemaSql } from '../../src/db/schema.js';
import { collectDbStats } from '../../src/db/stats.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { runDb } from './db-cli.js';

const NOW = new Date('2026-03-10T12:00:00.000Z');
const at = (iso: string) => Date.parse(iso);
const row = (timestamp: number, status: number) => ({
  timestamp,
  ip_address: '10.0.0.1',
  method: 'GET',
  endpoint: '/',
  query_string: null,
  status_code: status,
  bytes_sent: 1,
  response_time_ms: 1,
  referrer: null,
  user_agent: null,
});

describe('db stats', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('stats');
    await insertAccessLogRows(db.pool, [
      row(at('2026-01-01T00:00:00.000Z'), 200), // older than the 7 days
      row(at('2026-03-04T00:00:00.000Z'), 200), // first of the 7 days
      row(at('2026-03-04T23:59:59.999Z'), 301),
      row(at('2026-03-08T10:00:00.000Z'), 404),
      row(at('2026-03-10T11:59:00.500Z'), 500),
      row(at('2026-03-10T11:59:00.500Z'), 200),
    ]);
  });
  afterAll(async () => {
    await db.drop();
  });

  it('counts rows, the time range, the last 7 days with empty days as 0, and status classes', async () => {
    // Act
    const stats = await collectDbStats(db.pool, NOW);

    // Assess
    expect(stats.rows).toBe(6);
    expect(stats.first).toBe('2026-01-01T00:00:00.000Z');
    expect(stats.last).toBe('2026-03-10T11:59:00.500Z');
    expect(stats.perDay).toEqual([
      { day: '2026-03-04', rows: 2 },
      { day: '2026-03-05', rows: 0 },
      { day: '2026-03-06', rows: 0 },
      { day: '2026-03-07', rows: 0 },
      { day: '2026-03-08', rows: 1 },
      { day: '2026-03-09', rows: 0 },
      { day: '2026-03-10', rows: 2 },
    ]);
    expect(stats.statusClasses).toEqual({ '1xx': 0, '2xx': 3, '3xx': 1, '4xx': 1, '5xx': 1 });
  });

  it('lists the indexes with their columns, and sizes', async () => {
    // Act
    const stats = await collectDbStats(db.pool, NOW);

    // Assess
    const declared = parseSchemaTables(readSchemaSql()).find((t) => t.name === 'access_logs')?.indexes ?? [];
    expect(stats.indexes).toEqual([
      { name: 'PRIMARY', columns: ['id'], unique: true },
      ...declared
        .map((ix) => ({ name: ix.name, columns: indexColumns(ix.columns), unique: false }))
        .sort((x, y) => x.name.localeCompare(y.name)),
    ]);
    expect(stats.indexes.find((i) => i.name === 'idx_ip_timestamp')?.columns).toEqual([
      'ip_address',
      'timestamp',
      'id',
    ]);
    expect(stats.sizes.dataBytes).toBeGreaterThan(0);
    expect(Object.keys(stats.sizes.perIndexBytes ?? {}).sort()).toEqual(
      stats.indexes.map((i) => i.name).sort(),
    );
  });

  it('prints a readable summary, and one JSON document with --json', async () => {
    // Act
    const text = await runDb(db.database, ['stats']);
    const json = await runDb(db.database, ['stats'], { json: true });

    // Assess
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/rows\s+6/);
    expect(text.out).toMatch(/5xx\s+1 \(16\.7%\)/);
    expect(text.out).toContain('idx_ip_timestamp (ip_address, timestamp, id)');
    expect(json.code).toBe(0);
    expect(json.ui.out).toHaveLength(1);
    expect(JSON.parse(json.ui.out[0] as string)).toMatchObject({ rows: 6, statusClasses: { '5xx': 1 } });
  });
});
