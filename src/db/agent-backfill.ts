/**
 * Classifying rows written before the user-agent columns existed, or by something other than
 * this tool's writers (their `is_bot` is NULL): `db init` and the ingest function's `init` run it.
 *
 * A chunk of ids at a time: its distinct agents are classified here (user-agent.ts; a log has few),
 * put in a temporary table keyed by the agent's MD5, and the chunk's rows are updated through a
 * join on that key, one statement per chunk. Every statement only touches rows still NULL, so an
 * interrupted run resumes where it stopped and a re-run changes nothing.
 */
import type mysql from 'mysql2/promise';
import { classifyUserAgent, UNKNOWN } from './user-agent.js';

/** Ids per UPDATE: a fraction of a second of work each on a small server. */
export const CLASSIFY_CHUNK_IDS = 50_000;

export interface ClassifyResult {
  /** Rows classified by this run. */
  rows: number;
  /** Rows left unclassified when `shouldStop` ended it early (else 0). */
  remaining: number;
}

export interface ClassifyProgress {
  done: number;
  total: number;
}

export async function classifyUnclassifiedRows(
  pool: mysql.Pool,
  options: {
    chunkIds?: number;
    onProgress?: (p: ClassifyProgress) => void;
    /** Asked before each chunk: true stops there (a function's time budget); a re-run continues. */
    shouldStop?: () => boolean;
  } = {},
): Promise<ClassifyResult> {
  const chunk = options.chunkIds ?? CLASSIFY_CHUNK_IDS;
  const conn = await pool.getConnection();
  try {
    const [[bounds]] = (await conn.query(
      'SELECT MIN(id) AS lo, MAX(id) AS hi, COUNT(*) AS n FROM access_logs WHERE is_bot IS NULL',
    )) as unknown as [{ lo: number | string | null; hi: number | string | null; n: number | string }[]];
    const total = Number(bounds?.n ?? 0);
    if (!bounds || bounds.lo === null || bounds.hi === null || total === 0) return { rows: 0, remaining: 0 };
    await conn.query(
      `CREATE TEMPORARY TABLE IF NOT EXISTS agent_class (
         h BINARY(16) NOT NULL PRIMARY KEY, is_bot TINYINT UNSIGNED NOT NULL,
         browser VARCHAR(64) NOT NULL, os VARCHAR(64) NOT NULL)`,
    );
    const known = new Set<string>();
    let done = 0;
    options.onProgress?.({ done, total });
    try {
      for (let from = Number(bounds.lo); from <= Number(bounds.hi); from += chunk) {
        if (options.shouldStop?.()) return { rows: done, remaining: total - done };
        const to = from + chunk;
        const [agents] = await conn.query(
          'SELECT DISTINCT user_agent AS ua FROM access_logs WHERE id >= ? AND id < ? AND is_bot IS NULL AND user_agent IS NOT NULL',
          [from, to],
        );
        const fresh = (agents as { ua: string }[]).map((r) => r.ua).filter((ua) => !known.has(ua));
        if (fresh.length > 0) {
          await conn.query('INSERT IGNORE INTO agent_class (h, is_bot, browser, os) VALUES ?', [
            fresh.map((ua) => {
              const c = classifyUserAgent(ua);
              return [{ toSqlString: () => `UNHEX(MD5(${conn.escape(ua)}))` }, c.is_bot, c.browser, c.os];
            }),
          ]);
          for (const ua of fresh) known.add(ua);
        }
        const [byAgent] = await conn.query(
          `UPDATE access_logs a JOIN agent_class c ON c.h = UNHEX(MD5(a.user_agent))
           SET a.is_bot = c.is_bot, a.browser = c.browser, a.os = c.os
           WHERE a.id >= ? AND a.id < ? AND a.is_bot IS NULL`,
          [from, to],
        );
        const [noAgent] = await conn.query(
          'UPDATE access_logs SET is_bot = 0, browser = ?, os = ? WHERE id >= ? AND id < ? AND is_bot IS NULL AND user_agent IS NULL',
          [UNKNOWN, UNKNOWN, from, to],
        );
        done +=
          (byAgent as mysql.ResultSetHeader).affectedRows + (noAgent as mysql.ResultSetHeader).affectedRows;
        options.onProgress?.({ done, total });
      }
    } finally {
      await conn.query('DROP TEMPORARY TABLE IF EXISTS agent_class');
    }
    return { rows: done, remaining: 0 };
  } finally {
    conn.release();
  }
}
