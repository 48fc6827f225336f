/**
 * `npm run bench -- rollup-cost`: what keeping each rollup table costs a writer. The same traffic
 * (200,000 rows over 6 days: the density of the 1,000,000-line, 30-day `db load` file) is written
 * by `db seed`'s writer into a new database once per set of kept tables (none, each table alone,
 * all of them, all but one), each set chosen by which tables `rollup_state` registers (writers keep
 * exactly those; the sets: none, each table alone, all, all but each table issue 15 added). Prints the seconds, rows/s and the rollup rows each table gained; the ratio of
 * a set's time to "none" is what those tables cost at load time. BENCH_COST_ROWS changes the size.
 * Private MariaDB, loopback only, removed at the end.
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import mysql from 'mysql2/promise';
import { applySchema } from '../src/db/schema.js';
import { seedTraffic } from '../src/db/seed.js';
import { startMariaDb } from '../src/db/server.js';
import { GATE, ROLLUP_TABLES, rollupTableName } from '../src/lambda/rollup-tables.js';

const ROWS = Number(process.env.BENCH_COST_ROWS ?? 200_000);
const DAYS = Math.max(1, Math.round((ROWS / 1_000_000) * 30));
const END = new Date('2026-11-01T00:00:00Z');

export async function run(): Promise<void> {
  const server = await startMariaDb({});
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
  try {
    const admin = await mysql.createConnection({
      host: '127.0.0.1',
      port: server.port,
      user: server.user,
      password: server.password,
    });
    const all = ROLLUP_TABLES.map(rollupTableName);
    const sets: { label: string; keep: string[] }[] = [
      { label: 'none', keep: [] },
      ...all.map((t) => ({ label: t, keep: [t] })),
      { label: 'all', keep: all },
      // The tables issue 15 added, each left out: what the rest cost without it.
      ...['rollup_visitor', 'rollup_agent', 'rollup_referrer', 'rollup_notfound'].map((t) => ({
        label: `all but ${t}`,
        keep: all.filter((x) => x !== t),
      })),
    ];
    console.log(
      `${ROWS.toLocaleString('en-US')} rows over ${DAYS} days per set, db seed's writer; load average before: ${load()}`,
    );
    console.log(
      `\n${'tables kept'.padEnd(34)} ${'seconds'.padStart(8)} ${'rows/s'.padStart(8)} ${'x none'.padStart(7)}  rollup rows`,
    );
    let none = 0;
    for (const [i, set] of sets.entries()) {
      const database = `cost_${i}`;
      await admin.query(`DROP DATABASE IF EXISTS ${database}`);
      await admin.query(`CREATE DATABASE ${database}`);
      const pool = mysql.createPool({
        host: '127.0.0.1',
        port: server.port,
        user: server.user,
        password: server.password,
        database,
        connectionLimit: 2,
        timezone: 'Z',
      });
      try {
        await applySchema(pool);
        const drop = all.filter((t) => !set.keep.includes(t));
        if (drop.length > 0)
          await pool.query(
            `DELETE FROM rollup_state WHERE name <> ? AND name IN (${drop.map(() => '?').join(', ')})`,
            [GATE, ...drop],
          );
        const started = performance.now();
        await seedTraffic(pool, { rows: ROWS, days: DAYS, seed: 5, end: END });
        const seconds = (performance.now() - started) / 1000;
        if (set.keep.length === 0) none = seconds;
        const counts: string[] = [];
        for (const t of set.keep) {
          const [[row]] = (await pool.query(`SELECT COUNT(*) AS n FROM ${t}`)) as unknown as [
            { n: number }[],
          ];
          counts.push(`${t} ${Number(row?.n).toLocaleString('en-US')}`);
        }
        console.log(
          `${set.label.padEnd(34)} ${seconds.toFixed(1).padStart(8)} ${Math.round(ROWS / seconds)
            .toLocaleString('en-US')
            .padStart(8)} ${(none > 0 ? (seconds / none).toFixed(2) : '').padStart(7)}  ${counts.join(', ')}`,
        );
      } finally {
        await pool.end();
        await admin.query(`DROP DATABASE IF EXISTS ${database}`);
      }
    }
    await admin.end();
    console.log(`load average after: ${load()}`);
  } finally {
    await server.stop();
  }
}
