/**
 * The rollup tables: pre-aggregated counts of access_logs per time bucket, kept by every writer in
 * the same transaction as the rows (src/db/rollup-writer.ts) and read by the aggregate intents for
 * the whole buckets of a window (rollup-queries.ts). This module is the single description of
 * them: DDL, what each column adds up, and the bucket arithmetic. It lives with the backend, which
 * is bundled alone, and is pure (no driver): the db tools import it from here.
 *
 * Each table has one key column (the dimension: status code, path, client address), a grain
 * column (minute, hour or day), the bucket's start (UTC) and measures that merge by sum, min or
 * max. Adding a dimension is one more entry in ROLLUP_TABLES; changing an entry's columns or
 * grains means bumping its `version`, which gives it a new table name: `db init` builds the new table beside
 * the old one (backfill), then drops the old one. docs/ (or README "Rollups") explains the
 * measured choices: which grains, and why per-address and per-path tables stop at the hour.
 */

import { createHash } from 'node:crypto';

/**
 * The access_logs columns the rollups read, as a writer holds a row before it is written
 * (src/db/access-log-row.ts has the whole row; any RolledUpRow is one of these). A new dimension
 * adds its column here.
 */
export interface RolledUpRow {
  /** Milliseconds since the epoch, UTC. */
  timestamp: number;
  ip_address: string;
  endpoint: string;
  status_code: number;
  response_time_ms: number | null;
  bytes_sent: number | null;
  referrer: string | null;
  user_agent: string | null;
}

/**
 * What the writer stores with a row from its user agent (src/db/user-agent.ts classifies it once
 * per row and the rollups read the same answer): measures and keys that depend on it take it here.
 */
export interface RowAgent {
  is_bot: 0 | 1;
  browser: string;
  os: string;
}

/**
 * Bucket sizes. A week is 7 days counted from the epoch (so weeks start on Thursdays, 00:00 UTC):
 * fixed-width buckets keep the arithmetic one division, and nothing shows a week to the user;
 * it only lets long windows read 13 rows per key where days would need 90.
 */
export type Grain = 'minute' | 'hour' | 'day' | 'week';
export const GRAIN_MS: Record<Grain, number> = {
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 7 * 86_400_000,
};
/** Coarsest first: the order windows are cut in. */
export const GRAINS_COARSE_FIRST: readonly Grain[] = ['week', 'day', 'hour', 'minute'];

export interface RollupMeasure {
  column: string;
  /** SQL column type. */
  type: string;
  /** How two values of the same bucket and key combine. */
  merge: 'sum' | 'min' | 'max';
  /** The value one access_logs row contributes (JavaScript side, for writers). */
  of(row: RolledUpRow, agent: RowAgent): number;
  /** The same over a group of access_logs rows, in SQL (backfill, verify, window edges). */
  sql: string;
}

export interface RollupTable {
  /** Short name, used in messages and by the intents. */
  name: 'status' | 'endpoint' | 'ip' | 'agent' | 'visitor' | 'referrer' | 'notfound';
  /** Bumped when columns change: the table name changes with it, so old and new can coexist. */
  version: number;
  grains: readonly Grain[];
  key: {
    column: 'status_code' | 'endpoint' | 'ip_address' | 'agent' | 'visitor' | 'referrer_url' | 'visit';
    /** Same type and collation as the access_logs column, so grouping and ordering agree with it. */
    type: string;
    of(row: RolledUpRow, agent: RowAgent): string | number;
    /**
     * The key over access_logs rows, when it is not a column of the same name there (backfill,
     * verify, window edges).
     */
    sql?: string;
  };
  measures: readonly RollupMeasure[];
  /**
   * The access_logs rows the table counts, when not all of them (the 404s only): a writer adds a
   * row when `of` says so, and backfill, verify and window edges read the rows where `sql` holds.
   */
  rows?: { of(row: RolledUpRow): boolean; sql: string };
  /** Whether the table serves top lists: an index (grain, bucket, n) gives each bucket's busiest keys. */
  leaders: boolean;
}

const COUNT = 'BIGINT UNSIGNED NOT NULL';
/** A DATETIME(3) in UTC as milliseconds since the epoch, whatever the session's time zone. */
const EPOCH_MS = "TIMESTAMPDIFF(MICROSECOND, '1970-01-01', `timestamp`) DIV 1000";
const requests: RollupMeasure = { column: 'n', type: COUNT, merge: 'sum', of: () => 1, sql: 'COUNT(*)' };
const errors: RollupMeasure = {
  column: 'errors',
  type: COUNT,
  merge: 'sum',
  of: (r) => (r.status_code >= 400 ? 1 : 0),
  sql: 'SUM(status_code >= 400)',
};
const statusClass = (digit: number): RollupMeasure => ({
  column: `n_${digit}xx`,
  type: COUNT,
  merge: 'sum',
  of: (r) => (r.status_code >= digit * 100 && r.status_code < digit * 100 + 100 ? 1 : 0),
  sql: `SUM(status_code BETWEEN ${digit * 100} AND ${digit * 100 + 99})`,
});

/**
 * A sum measure and its twin over bots only (`n` and `n_bot`, `bytes` and `bytes_bot`): the `bots`
 * filter reads `x_bot` for `only` and `x - x_bot` for `exclude`, so one table answers all three
 * without a row per bot flag. `perRow` is the measure's value for one row in SQL, as `of` gives it.
 * A row not yet classified (is_bot NULL) is not a bot, as everywhere else.
 */
function withBotTwin(m: RollupMeasure, perRow: string): RollupMeasure[] {
  return [
    m,
    {
      column: `${m.column}${BOT_SUFFIX}`,
      type: m.type,
      merge: 'sum',
      of: (r, agent) => (agent.is_bot === 1 ? m.of(r, agent) : 0),
      sql: `COALESCE(SUM(IF(is_bot = 1, ${perRow}, 0)), 0)`,
    },
  ];
}
/** The column of a measure's bots-only twin: `n` has `n_bot`. */
export const BOT_SUFFIX = '_bot';

const bytes: RollupMeasure = {
  column: 'bytes',
  type: COUNT,
  merge: 'sum',
  of: (r) => r.bytes_sent ?? 0,
  sql: 'COALESCE(SUM(bytes_sent), 0)',
};
const responseTimeSum: RollupMeasure = {
  column: 'rt_sum',
  type: COUNT,
  merge: 'sum',
  of: (r) => r.response_time_ms ?? 0,
  sql: 'COALESCE(SUM(response_time_ms), 0)',
};
const responseTimeCount: RollupMeasure = {
  column: 'rt_count',
  type: COUNT,
  merge: 'sum',
  of: (r) => (r.response_time_ms === null ? 0 : 1),
  sql: 'COUNT(response_time_ms)',
};

/** Separates the parts of the agent rollup's key (a control character: no family name has one). */
export const AGENT_SEPARATOR = '\x1f';
/** The agent key of a row: bot flag, browser (or bot name), OS, as the row's columns hold them. */
export const agentKey = (agent: RowAgent): string =>
  `${agent.is_bot}${AGENT_SEPARATOR}${agent.browser}${AGENT_SEPARATOR}${agent.os}`;
const AGENT_KEY_SQL = `CONCAT(IF(is_bot = 1, '1', '0'), CHAR(31 USING utf8mb4), COALESCE(browser, 'Unknown'), CHAR(31 USING utf8mb4), COALESCE(os, 'Unknown')) COLLATE utf8mb4_bin`;

/**
 * The referrer URL a request counts under: its first 700 characters when it holds "://" (a URL),
 * else '' (direct: none, "-", or no scheme). Exactly what REFERRER_URL_SQL gives over the rows.
 */
export function referrerUrl(referrer: string | null): string {
  if (referrer === null || !referrer.includes('://')) return '';
  if (referrer.length <= URL_CHARS) return referrer;
  // SQL's LEFT counts characters (code points); a string index counts UTF-16 units.
  let out = '';
  let chars = 0;
  for (const c of referrer) {
    if (chars++ === URL_CHARS) break;
    out += c;
  }
  return out;
}
const URL_CHARS = 700;
/**
 * The same over access_logs. "://" is looked for byte for byte: the column's case-insensitive
 * collation would also match look-alike characters (a full-width colon), which no URL starts with.
 */
export const REFERRER_URL_SQL = `(IF(INSTR(referrer COLLATE utf8mb4_bin, '://') > 0, LEFT(referrer, ${URL_CHARS}), '') COLLATE utf8mb4_bin)`;

export const ROLLUP_TABLES: readonly RollupTable[] = [
  {
    name: 'status',
    // 2: bot requests and bytes sent (the `bots` filter and get_bandwidth per day).
    version: 2,
    grains: ['minute', 'hour', 'day'],
    key: { column: 'status_code', type: 'SMALLINT UNSIGNED NOT NULL', of: (r) => r.status_code },
    measures: [...withBotTwin(requests, '1'), ...withBotTwin(bytes, 'COALESCE(bytes_sent, 0)')],
    leaders: false,
  },
  {
    name: 'endpoint',
    // 2: every measure with its bots-only twin, and bytes sent (get_bandwidth per endpoint).
    version: 2,
    grains: ['hour', 'day', 'week'],
    key: { column: 'endpoint', type: 'VARCHAR(700) COLLATE utf8mb4_bin NOT NULL', of: (r) => r.endpoint },
    measures: [
      ...withBotTwin(requests, '1'),
      ...withBotTwin(errors, 'status_code >= 400'),
      ...withBotTwin(responseTimeSum, 'COALESCE(response_time_ms, 0)'),
      ...withBotTwin(responseTimeCount, 'response_time_ms IS NOT NULL'),
      ...withBotTwin(bytes, 'COALESCE(bytes_sent, 0)'),
    ],
    leaders: true,
  },
  {
    name: 'ip',
    // 2: bot requests, so top addresses answer every `bots` filter (an address's other measures
    // are for all its requests: get_ip_activity with a filter reads its rows).
    version: 2,
    grains: ['day', 'week'],
    key: {
      column: 'ip_address',
      type: 'VARCHAR(45) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL',
      of: (r) => r.ip_address,
    },
    measures: [
      ...withBotTwin(requests, '1'),
      errors,
      statusClass(1),
      statusClass(2),
      statusClass(3),
      statusClass(4),
      statusClass(5),
      // Milliseconds since the epoch (UTC), not DATETIME(3): writers send numbers, no dates to format.
      {
        column: 'first_seen',
        type: 'BIGINT NOT NULL',
        merge: 'min',
        of: (r) => r.timestamp,
        sql: `MIN(${EPOCH_MS})`,
      },
      {
        column: 'last_seen',
        type: 'BIGINT NOT NULL',
        merge: 'max',
        of: (r) => r.timestamp,
        sql: `MAX(${EPOCH_MS})`,
      },
    ],
    leaders: true,
  },
  {
    // Requests per agent class (bot flag, browser or bot name, OS): get_user_agents. A log has
    // few classes, so 30 days are a few hundred rows. Hours for the edges of a window, days for the rest.
    name: 'agent',
    version: 1,
    grains: ['hour', 'day'],
    key: {
      column: 'agent',
      // Three VARCHAR(64) families, a flag and two separators.
      type: 'VARCHAR(140) COLLATE utf8mb4_bin NOT NULL',
      of: (_r, agent) => agentKey(agent),
      sql: AGENT_KEY_SQL,
    },
    measures: [requests],
    leaders: false,
  },
  {
    // One row per visitor and UTC day (get_visitors): a day's visitors are its rows, counted, where
    // a distinct count over the rows would read every request. Days only: a visitor is per day.
    // Its bots' requests tell bot visitors apart (an agent is a bot or not).
    name: 'visitor',
    version: 1,
    grains: ['day'],
    key: {
      column: 'visitor',
      // An address (at most 45), a space and 32 hex digits; compared as access_logs compares addresses.
      type: 'VARCHAR(78) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL',
      of: (r) => visitorKey(r.ip_address, r.user_agent),
      sql: "CONVERT(CONCAT(CONVERT(ip_address USING utf8mb4) COLLATE utf8mb4_bin, ' ', MD5(COALESCE(user_agent, ''))) USING ascii) COLLATE ascii_general_ci",
    },
    measures: withBotTwin(requests, '1'),
    leaders: false,
  },
  {
    // Requests per referrer URL (get_referrers): '' for the direct ones, which carry none. The host
    // of a URL is read from the key when asked (the site's own hosts are configuration, known
    // only then). Hours for the edges of a day-long window, weeks so that 30 days read 4 weeks'
    // and 2 days' URLs rather than 30 days' (a site has far fewer referrer URLs than requests, but
    // each day lists most of them again).
    name: 'referrer',
    version: 1,
    grains: ['hour', 'day', 'week'],
    key: {
      column: 'referrer_url',
      type: 'VARCHAR(700) COLLATE utf8mb4_bin NOT NULL',
      of: (r) => referrerUrl(r.referrer),
      sql: REFERRER_URL_SQL,
    },
    measures: withBotTwin(requests, '1'),
    leaders: false,
  },
  {
    // One row per 404 path, visitor and UTC day (get_not_found): a path's hits are its rows' sum,
    // its visitors their count, its last request their latest. Days only: a visitor is per day,
    // and the 404s of a partial day are few enough to read through the status index.
    name: 'notfound',
    version: 1,
    grains: ['day'],
    key: {
      column: 'visit',
      // A visitor (at most 78 ASCII bytes), a separator and a path (at most 700 characters, 2,800
      // bytes): binary, so the primary key stays under InnoDB's 3,072 bytes.
      type: 'VARBINARY(2880) NOT NULL',
      of: (r) => `${visitorKey(r.ip_address.toLowerCase(), r.user_agent)}${AGENT_SEPARATOR}${r.endpoint}`,
      sql: `CAST(CONCAT(CONVERT(LOWER(ip_address) USING utf8mb4) COLLATE utf8mb4_bin, ' ', MD5(COALESCE(user_agent, '')), CHAR(31 USING utf8mb4), endpoint) AS BINARY)`,
    },
    measures: [
      ...withBotTwin(requests, '1'),
      // Latest request of the visitor's that were not bots', and that were (epoch ms, 0 for none):
      // a `bots` filter then reads the one it keeps.
      {
        column: 'last_human',
        type: 'BIGINT NOT NULL',
        merge: 'max',
        of: (r, agent) => (agent.is_bot === 1 ? 0 : r.timestamp),
        sql: `MAX(IF(is_bot = 1, 0, ${EPOCH_MS}))`,
      },
      {
        column: 'last_bot',
        type: 'BIGINT NOT NULL',
        merge: 'max',
        of: (r, agent) => (agent.is_bot === 1 ? r.timestamp : 0),
        sql: `MAX(IF(is_bot = 1, ${EPOCH_MS}, 0))`,
      },
    ],
    rows: { of: (r) => r.status_code === 404, sql: 'status_code = 404' },
    leaders: false,
  },
];

/**
 * A visitor (GoAccess's: the same address, UTC day and user agent) as the visitor rollup keys it:
 * the address and the MD5 of the agent, as `MD5(COALESCE(user_agent, ''))` gives it over the rows.
 */
export function visitorKey(ip: string, userAgent: string | null): string {
  const agent = userAgent ?? '';
  let hash = agentHashes.get(agent);
  if (hash === undefined) {
    // A log has few distinct agents; a hostile one (random agents) must not grow memory without bound.
    if (agentHashes.size >= 20_000) agentHashes.clear();
    hash = createHash('md5').update(agent, 'utf8').digest('hex');
    agentHashes.set(agent, hash);
  }
  return `${ip} ${hash}`;
}
const agentHashes = new Map<string, string>();

/** The key over access_logs rows: its SQL expression, or the column of the same name. */
export const keySql = (def: RollupTable): string => def.key.sql ?? `\`${def.key.column}\``;

/** The bots-only twin of a measure, when it has one. */
export function botTwin(def: RollupTable, column: string): RollupMeasure | undefined {
  return def.measures.find((m) => m.column === `${column}${BOT_SUFFIX}`);
}

/** The table a definition lives in: `rollup_ip`, then `rollup_ip_v2` once its columns change. */
export function rollupTableName(def: Pick<RollupTable, 'name' | 'version'>): string {
  return def.version === 1 ? `rollup_${def.name}` : `rollup_${def.name}_v${def.version}`;
}

export function rollupByName(name: RollupTable['name']): RollupTable {
  const def = ROLLUP_TABLES.find((t) => t.name === name);
  if (!def) throw new Error(`no rollup table named ${name}`);
  return def;
}

/**
 * Bookkeeping, one row per rollup table plus the writers' gate ('*'):
 * - `backfill_to`: rows with an id up to this predate the table (no writer added them to it); the
 *   backfill counts them, and the table answers queries once `backfilled` reaches it;
 * - the gate row: every writer holds a shared lock on it for its transaction, so `db init` (adding
 *   a table) and `db rollup --repair` can wait until no write is half done; its `prune_floor` is
 *   set while `db prune` runs: aggregates then ignore rows before it, so the rows and rollups a
 *   prune has not yet deleted never show as a half-deleted day.
 */
export const ROLLUP_STATE_SQL = `CREATE TABLE IF NOT EXISTS rollup_state (
  name         VARCHAR(64)     CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  backfill_to  BIGINT UNSIGNED NOT NULL DEFAULT 0,
  backfilled   BIGINT UNSIGNED NOT NULL DEFAULT 0,
  prune_floor  DATETIME        NULL,
  updated_at   DATETIME(3)     NOT NULL,
  PRIMARY KEY (name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci`;
export const GATE = '*';

/** CREATE TABLE IF NOT EXISTS for one rollup table. */
export function rollupTableSql(def: RollupTable): string {
  const k = def.key.column;
  const columns = [
    `\`${k}\` ${def.key.type}`,
    `grain ENUM('minute', 'hour', 'day', 'week') NOT NULL`,
    'bucket DATETIME NOT NULL',
    ...def.measures.map((m) => `\`${m.column}\` ${m.type}`),
  ];
  // Time first: a load of recent logs appends at the end of the tree, and a prune removes its start.
  const keys = [
    `PRIMARY KEY (grain, bucket, \`${k}\`)`,
    ...(def.leaders ? ['KEY leaders (grain, bucket, n)'] : []),
  ];
  return `CREATE TABLE IF NOT EXISTS ${rollupTableName(def)} (\n  ${[...columns, ...keys].join(',\n  ')}\n) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci`;
}

/** SQL for a bucket's start from `timestamp`, at a grain (DATETIME values are UTC). */
export function bucketSql(grain: Grain, column = '`timestamp`'): string {
  switch (grain) {
    case 'minute':
      return `DATE_FORMAT(${column}, '%Y-%m-%d %H:%i:00')`;
    case 'hour':
      return `DATE_FORMAT(${column}, '%Y-%m-%d %H:00:00')`;
    case 'day':
      return `CAST(DATE(${column}) AS DATETIME)`;
    case 'week':
      return `(CAST('1970-01-01' AS DATETIME) + INTERVAL (DATEDIFF(${column}, '1970-01-01') DIV 7 * 7) DAY)`;
  }
}

/** `ON DUPLICATE KEY UPDATE` assignments adding a delta row to an existing one. */
export function mergeAssignments(def: RollupTable): string {
  return def.measures
    .map((m) => {
      const c = `\`${m.column}\``;
      if (m.merge === 'sum') return `${c} = ${c} + VALUES(${c})`;
      return `${c} = ${m.merge === 'min' ? 'LEAST' : 'GREATEST'}(${c}, VALUES(${c}))`;
    })
    .join(', ');
}

/** SQL aggregate combining a measure over several rollup rows. */
export function combineSql(m: RollupMeasure): string {
  return `${m.merge.toUpperCase()}(\`${m.column}\`)`;
}

export const floorTo = (ms: number, grain: Grain): number =>
  Math.floor(ms / GRAIN_MS[grain]) * GRAIN_MS[grain];
export const ceilTo = (ms: number, grain: Grain): number => Math.ceil(ms / GRAIN_MS[grain]) * GRAIN_MS[grain];

/** A half-open time range, milliseconds since the epoch. */
export interface TimeRange {
  from: number;
  to: number;
}

/** Whole buckets of one grain: every bucket starting in [from, to). */
export interface BucketRange extends TimeRange {
  grain: Grain;
}

/**
 * Cut [from, to) into whole buckets, coarsest first, and what is left at the edges: e.g. with
 * day and hour grains, 09:30 on day 1 to 10:15 on day 4 is raw 09:30-10:00, hours 10:00-24:00 of
 * day 1, days 2 and 3, hours 00:00-10:00 of day 4, raw 10:00-10:15. At most two ranges per grain
 * and two raw ranges; every instant of [from, to) is in exactly one of them.
 */
export function cutWindow(
  range: TimeRange,
  grains: readonly Grain[],
): { buckets: BucketRange[]; raw: TimeRange[] } {
  const ordered = GRAINS_COARSE_FIRST.filter((g) => grains.includes(g));
  const buckets: BucketRange[] = [];
  const raw: TimeRange[] = [];
  const cut = (from: number, to: number, level: number) => {
    if (from >= to) return;
    const grain = ordered[level];
    if (grain === undefined) {
      raw.push({ from, to });
      return;
    }
    const start = ceilTo(from, grain);
    const end = floorTo(to, grain);
    if (start >= end) {
      cut(from, to, level + 1);
      return;
    }
    cut(from, start, level + 1);
    buckets.push({ grain, from: start, to: end });
    cut(end, to, level + 1);
  };
  cut(range.from, range.to, 0);
  return { buckets, raw };
}

/** The start of every bucket in a range, oldest first. */
export function bucketStarts(range: BucketRange): number[] {
  const step = GRAIN_MS[range.grain];
  const out: number[] = [];
  for (let t = range.from; t < range.to; t += step) out.push(t);
  return out;
}

/**
 * Response times per UTC day and busy path, value by value, with how many of them were bots':
 * what `get_endpoint_stats` reads its p95 from instead of the rows, under any `bots` filter.
 * Writers do not keep it: `db rollup --percentiles` builds it for past days, and a (day, path) is
 * used only while its counts equal the path's `rt_count` (and `rt_count_bot`) in rollup_endpoint
 * for that day, so a day that gained or lost rows since is read from the rows.
 */
export const RESPONSE_TIMES_TABLE = 'rollup_endpoint_rt';
/**
 * Added after the table was first made: a table from before has it added with 0s, which match
 * no day with bots' timed requests, so `db rollup --percentiles` counts those days again.
 */
export const RESPONSE_TIMES_BOTS_COLUMN = 'n_bot BIGINT UNSIGNED NOT NULL DEFAULT 0';
export const RESPONSE_TIMES_SQL = `CREATE TABLE IF NOT EXISTS ${RESPONSE_TIMES_TABLE} (
  day              DATETIME          NOT NULL,
  endpoint         VARCHAR(700)      COLLATE utf8mb4_bin NOT NULL,
  response_time_ms INT UNSIGNED      NOT NULL,
  n                BIGINT UNSIGNED   NOT NULL,
  ${RESPONSE_TIMES_BOTS_COLUMN},
  PRIMARY KEY (day, endpoint, response_time_ms)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci`;
