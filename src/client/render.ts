/**
 * Readable output for API answers: aligned tables for lists of records, aligned key/value blocks for
 * summaries. Pure functions returning lines; the command prints them.
 */

type Scalar = string | number | boolean | null;

const isScalar = (v: unknown): v is Scalar | undefined =>
  v === null || v === undefined || ['string', 'number', 'boolean'].includes(typeof v);
const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** How much to show: a terminal wants narrow cells and the main log columns; a model reads everything. */
export interface RenderOptions {
  /** Longest cell before it is cut with an ellipsis (default 60). */
  maxCell?: number;
  /** Log entries with every field rather than LOG_COLUMNS. */
  allLogColumns?: boolean;
}

const MAX_CELL = 60;

function cell(v: unknown, maxCell = MAX_CELL): string {
  if (v === null || v === undefined) return '-';
  const s = typeof v === 'string' ? v : isScalar(v) ? String(v) : JSON.stringify(v);
  return s.length > maxCell ? `${s.slice(0, maxCell - 1)}…` : s;
}

/** An aligned table; numeric columns (percentages too) are right-aligned. */
export function renderTable(
  rows: Record<string, unknown>[],
  columns?: string[],
  options: RenderOptions = {},
): string[] {
  const cols = columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cells = rows.map((r) => cols.map((c) => cell(r[c], options.maxCell)));
  const isNumeric = (v: unknown) =>
    typeof v === 'number' || v === null || (typeof v === 'string' && /^-?\d+(\.\d+)?%$/.test(v));
  const numeric = cols.map((c) => rows.length > 0 && rows.every((r) => isNumeric(r[c])));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => (row[i] as string).length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => (numeric[i] ? v.padStart(widths[i] as number) : v.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [line(cols), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)];
}

/** Aligned `key  value` lines. */
export function renderKeyValue(
  entries: [string, unknown][],
  indent = '',
  options: RenderOptions = {},
): string[] {
  const width = Math.max(0, ...entries.map(([k]) => k.length));
  return entries.map(([k, v]) => `${indent}${`${k}:`.padEnd(width + 1)}  ${cell(v, options.maxCell)}`);
}

/** Columns worth a terminal's width for a log entry; the full entry is in --json. */
export const LOG_COLUMNS = [
  'timestamp',
  'ip_address',
  'method',
  'status_code',
  'endpoint',
  'response_time_ms',
  'bytes_sent',
];

function formatValue(key: string, v: unknown): unknown {
  // error_rate is a 0..1 fraction in the API; people read percentages.
  if (key === 'error_rate' && typeof v === 'number') return `${(v * 100).toFixed(2)}%`;
  return v;
}

const formatRow = (row: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(row).map(([k, v]) => [k, formatValue(k, v)]));

/** list_intents: one block per intent, its whole description and its parameters' names. */
function renderIntents(intents: Record<string, unknown>[]): string[] {
  const width = Math.max(...intents.map((i) => String(i.name ?? '').length));
  return intents.flatMap((i) => {
    const params = Array.isArray(i.params)
      ? i.params.map((p) => (isRecord(p) ? String(p.name ?? '') : String(p))).filter(Boolean)
      : [];
    return [
      `  ${String(i.name ?? '').padEnd(width)}  ${String(i.description ?? '')}`,
      `  ${' '.repeat(width)}  params: ${params.length > 0 ? params.join(', ') : 'none'}`,
    ];
  });
}

/**
 * The `data` of a successful answer: scalars as key/value, flat objects as indented blocks, lists of
 * records as tables (log entries with LOG_COLUMNS), `window` on one line, list_intents' intents as
 * blocks. `next_cursor` is left to the caller, which shows it with the command for the next page.
 */
export function renderData(data: unknown, options: RenderOptions = {}): string[] {
  if (!isRecord(data)) return [cell(data, options.maxCell)];
  const lines: string[] = [];
  const scalars: [string, unknown][] = [];
  const blocks: string[][] = [];
  for (const [key, value] of Object.entries(data)) {
    // The cursor is too long for a column; the command prints it in full with the continuation.
    if (key === 'next_cursor') continue;
    if (key === 'intents' && Array.isArray(value) && value.length > 0 && value.every(isRecord)) {
      blocks.push([`${key}:`, ...renderIntents(value)]);
    } else if (key === 'window' && (value === null || isRecord(value))) {
      scalars.push([key, value === null ? 'all time' : `${cell(value.start)} → ${cell(value.end)}`]);
    } else if (isScalar(value)) {
      scalars.push([key, formatValue(key, value)]);
    } else if (Array.isArray(value) && value.every(isRecord)) {
      blocks.push(
        value.length === 0
          ? [`${key}: none`]
          : [
              `${key}:`,
              ...renderTable(
                value.map(formatRow),
                key === 'logs' && !options.allLogColumns ? LOG_COLUMNS : undefined,
                options,
              ).map((l) => `  ${l}`),
            ],
      );
    } else if (Array.isArray(value)) {
      scalars.push([key, value.map((v) => cell(v, options.maxCell)).join(', ')]);
    } else if (isRecord(value) && Object.values(value).every(isScalar)) {
      const entries = Object.entries(value).map(([k, v]): [string, unknown] => [k, formatValue(k, v)]);
      blocks.push(
        entries.length === 0 ? [`${key}: none`] : [`${key}:`, ...renderKeyValue(entries, '  ', options)],
      );
    } else if (isRecord(value)) {
      blocks.push([`${key}:`, ...renderData(value, options).map((l) => `  ${l}`)]);
    }
  }
  lines.push(...renderKeyValue(scalars, '', options));
  for (const block of blocks) lines.push(...block);
  return lines;
}
