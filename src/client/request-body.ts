/**
 * The request body `invoke` sends ({"intent", "params"}, as docs/backend.md documents it), built from the shortcut flags and
 * `--param k=v`. Pure: the clock is passed in, so relative times are testable.
 */
import { UsageError } from '../errors.js';

export interface BodyFlags {
  ip?: string;
  endpoint?: string;
  status?: string;
  limit?: string;
  hours?: string;
  since?: string;
  until?: string;
  cursor?: string;
  allTime?: boolean;
  param?: string[];
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * A time flag: ISO 8601 (passed on as given, the backend reads a time without offset as UTC) or a
 * duration before `now` such as 30m, 2h, 7d.
 */
export function parseTimeFlag(value: string, flag: string, now: Date): string {
  const relative = /^(\d+)\s*([smhdw])$/.exec(value.trim());
  if (relative) {
    const amount = Number(relative[1]);
    return new Date(now.getTime() - amount * (UNIT_MS[relative[2] as string] as number)).toISOString();
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(value) && !Number.isNaN(Date.parse(value))) return value;
  throw new UsageError(
    `${flag} must be an ISO 8601 time or a duration such as 30m, 2h or 7d (got "${value}")`,
    'Examples: --since 2h, --since 2026-01-31T08:00:00Z',
  );
}

/**
 * `--param k=v`: numbers and booleans typed (as a chatbot would send them), `null` as null, a value
 * in double quotes as the string inside them (`--param 'endpoint="404"'`), anything else a string.
 */
export function parseParam(pair: string): [string, unknown] {
  const eq = pair.indexOf('=');
  const key = eq > 0 ? pair.slice(0, eq) : '';
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
    throw new UsageError(
      `--param must look like key=value with a parameter name as the key (got "${pair}")`,
      'For example --param top_n=10 --param method=GET; `chatbot-ops invoke list_intents` lists the parameters.',
    );
  }
  const raw = pair.slice(eq + 1);
  if (/^-?\d+(\.\d+)?$/.test(raw)) return [key, Number(raw)];
  if (raw === 'true' || raw === 'false') return [key, raw === 'true'];
  if (raw === 'null') return [key, null];
  if (raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"')) return [key, raw.slice(1, -1)];
  return [key, raw];
}

function wholeNumber(value: string, flag: string): number {
  if (!/^\d+$/.test(value.trim())) throw new UsageError(`${flag} must be a whole number (got "${value}")`);
  return Number(value);
}

/** The request body for one intent. Flags the backend validates (ranges, formats) are passed on for it to judge. */
export function buildRequestBody(
  intent: string,
  flags: BodyFlags,
  now: Date,
): { intent: string; params: Record<string, unknown> } {
  // The backend refuses these combinations too; refusing them here costs no request.
  if (flags.allTime && (flags.hours !== undefined || flags.since !== undefined || flags.until !== undefined))
    throw new UsageError('--all-time lifts the time window: leave out --hours, --since and --until');
  if (flags.hours !== undefined && flags.since !== undefined)
    throw new UsageError('--hours and --since both set the start of the window: pass one of them');
  const params: Record<string, unknown> = {};
  if (flags.ip !== undefined) params.ip_address = flags.ip;
  if (flags.endpoint !== undefined) {
    // A trailing * asks for a prefix match, the way people write it in a shell.
    if (flags.endpoint.endsWith('*')) params.endpoint_prefix = flags.endpoint.slice(0, -1);
    else params.endpoint = flags.endpoint;
  }
  if (flags.status !== undefined) params.status_code = wholeNumber(flags.status, '--status');
  if (flags.limit !== undefined) params.limit = wholeNumber(flags.limit, '--limit');
  if (flags.hours !== undefined) params.hours = wholeNumber(flags.hours, '--hours');
  if (flags.since !== undefined) params.start_time = parseTimeFlag(flags.since, '--since', now);
  if (flags.until !== undefined) params.end_time = parseTimeFlag(flags.until, '--until', now);
  if (flags.cursor !== undefined) params.cursor = flags.cursor;
  if (flags.allTime) params.all_time = true;
  for (const pair of flags.param ?? []) {
    const [key, value] = parseParam(pair);
    params[key] = value;
  }
  return { intent, params };
}
