/** health: is the database reachable, and how long does a round trip take. */
import { performance } from 'node:perf_hooks';
import { defineIntent } from './intent.js';

export const health = defineIntent({
  name: 'health',
  description:
    'Liveness: answers status ok with the database round-trip time; 503 when the database is unreachable.',
  params: {},
  async run(db) {
    const started = performance.now();
    await db.select('SELECT 1 AS ok');
    const latency = Math.round((performance.now() - started) * 100) / 100;
    return { data: { status: 'ok', database: { reachable: true, latency_ms: latency } }, rows: 1 };
  },
});
