/**
 * Small pieces of SQL shared by the intents. Only fixed text lives here; every value a caller
 * influences is a `?` placeholder bound server-side.
 */
import { type BotsFilter, botCondition } from '../bots.js';
import type { TimeWindow } from '../window.js';

export const TABLE = 'access_logs';

/** Conditions joined with AND, and their bound values in order. */
export class Where {
  private readonly conditions: string[] = [];
  readonly values: unknown[] = [];

  add(condition: string, ...values: unknown[]): this {
    this.conditions.push(condition);
    this.values.push(...values);
    return this;
  }

  window(window: TimeWindow): this {
    if (window) this.add('`timestamp` >= ? AND `timestamp` < ?', window.start, window.end);
    return this;
  }

  /** Only the requests the `bots` filter keeps. */
  bots(bots: BotsFilter): this {
    const condition = botCondition(bots);
    if (condition) this.add(condition);
    return this;
  }

  toString(): string {
    return this.conditions.length > 0 ? `WHERE ${this.conditions.join(' AND ')}` : '';
  }
}

export interface Sql {
  sql: string;
  values: unknown[];
}

/**
 * Parts of a window (whole buckets from a rollup, edges from the rows) each aggregated on its own
 * by `each`, then the union of those few rows combined by `combine`. A window's parts cover
 * different times, so sums add up; aggregating each part first keeps MariaDB from materializing
 * every row of every part in one temporary table.
 */
export function overParts(parts: Sql[], each: (part: Sql) => Sql, combine: (union: string) => string): Sql {
  const aggregated = parts.map(each);
  return {
    sql: combine(`(${aggregated.map((p) => p.sql).join(' UNION ALL ')})`),
    values: aggregated.flatMap((p) => p.values),
  };
}

/**
 * A LIKE pattern matching strings that start with `prefix` literally, for `LIKE ? ESCAPE '!'`.
 * '!' rather than backslash: a backslash in the SQL text would depend on NO_BACKSLASH_ESCAPES.
 */
export function likePrefix(prefix: string): string {
  return `${prefix.replace(/[!%_]/g, (c) => `!${c}`)}%`;
}

export type StatusBreakdown = Record<string, number>;

/** Rows of `SELECT status_code, COUNT(*) ... GROUP BY status_code`. */
export type StatusCounts = { status: number; n: number }[];

/**
 * The statement counting requests per status code. Grouping by the column itself (not by its
 * class) lets MariaDB stream the groups in index order with no temporary table.
 */
export function statusCountsSql(where: Where): string {
  return `SELECT status_code AS status, COUNT(*) AS n FROM ${TABLE} ${where} GROUP BY status_code`;
}

export function totalOf(counts: StatusCounts): number {
  return counts.reduce((sum, row) => sum + row.n, 0);
}

/** Requests answered with status >= 400. */
export function errorsOf(counts: StatusCounts): number {
  return counts.filter((row) => row.status >= 400).reduce((sum, row) => sum + row.n, 0);
}

/**
 * {"2xx": n, "3xx": n, "4xx": n, "5xx": n}. The four usual classes are always present, zeros
 * included; "1xx" appears only when there is one.
 */
export function statusBreakdown(counts: StatusCounts): Record<string, number> {
  const out: Record<string, number> = { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 };
  for (const { status, n } of counts) {
    const statusClass = Math.floor(status / 100);
    if (statusClass >= 1 && statusClass <= 5) out[`${statusClass}xx`] = (out[`${statusClass}xx`] ?? 0) + n;
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

/** A part's share of a whole, 0..1, rounded to 4 decimals; 0 when the whole is 0. */
export function share(part: number, whole: number): number {
  return whole === 0 ? 0 : Math.round((part / whole) * 10000) / 10000;
}

/** Share of errors, 0..1, rounded to 4 decimals; 0 when there were no requests. */
export const errorRate = share;

/**
 * One visitor, as GoAccess counts them: the same client address, UTC day and user agent (the
 * agent by its MD5, so the distinct set holds 16 bytes, not the text; a missing agent is one value).
 */
export const VISITOR_KEY = "ip_address, DATE(`timestamp`), MD5(COALESCE(user_agent, ''))";

/** The UTC day of `timestamp` as YYYY-MM-DD text (of a group's rows, which share it). */
export const DAY_TEXT = "DATE_FORMAT(MIN(`timestamp`), '%Y-%m-%d')";

/** {key: count} in the order the rows came (already sorted by count, then key). */
export function countMap(rows: { k: string; n: number }[]): Record<string, number> {
  const out: Record<string, number> = {};
  // defineProperty, not assignment: a logged path such as "__proto__" must stay an ordinary key.
  for (const row of rows)
    Object.defineProperty(out, row.k, { value: row.n, enumerable: true, writable: true, configurable: true });
  return out;
}

export function isoOrNull(value: unknown): string | null {
  return value instanceof Date ? value.toISOString() : null;
}
