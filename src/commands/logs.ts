/**
 * `chatbot-ops logs`: the function's CloudWatch log events (/aws/lambda/<function>) without the
 * console. `--since 10m`, `--filter PATTERN`,
 * `--follow` (poll every 2 s until Ctrl-C), `--json` for the raw events.
 */

import {
  filterLogEvents,
  firstField,
  followLogEvents,
  functionLogGroup,
  type LogEvent,
  parseLogLine,
} from '../aws/log-events.js';
import { describeCommand } from '../cli/catalog.js';
import type { CommandModule } from '../cli/context.js';
import type { Style } from '../cli/ui.js';
import { UsageError } from '../errors.js';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * `--since`: a duration back from now (`90s`, `10m`, `2h`, `1d`) or an ISO 8601 time
 * (without an offset it is UTC). Returns epoch milliseconds.
 */
export function parseSince(text: string, now: number): number {
  const m = /^\s*(\d+)\s*([smhd])\s*$/i.exec(text);
  if (m) return now - Number(m[1]) * (UNIT_MS[(m[2] ?? '').toLowerCase()] ?? 0);
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const hasOffset = /([zZ]|[+-]\d{2}:?\d{2})$/.test(text);
    const iso = !text.includes('T') ? `${text}T00:00:00Z` : hasOffset ? text : `${text}Z`;
    const t = Date.parse(iso);
    if (Number.isFinite(t)) return t;
  }
  throw new UsageError(`--since must be a duration such as 30s, 10m, 2h, 1d or an ISO time (got "${text}")`);
}

function utcTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

/** One event as a readable line: time, level, request id, then intent, status, duration for request lines. */
export function renderLogEvent(event: LogEvent, style: Style): string {
  const p = parseLogLine(event.message);
  const level = (p.level ?? '').padEnd(5);
  const paint =
    p.level === 'ERROR' || p.level === 'FATAL'
      ? style.red
      : p.level === 'WARN'
        ? style.yellow
        : p.level === 'PLATFORM'
          ? style.dim
          : (s: string) => s;
  const rid = p.requestId ? p.requestId.slice(0, 8) : '-'.padEnd(8);
  const parts: string[] = [];
  if (p.fields) {
    const f = p.fields;
    const intent = firstField(f, 'intent');
    const status = firstField(f, 'status', 'statusCode', 'status_code');
    const duration = firstField(f, 'duration_ms', 'durationMs', 'duration');
    const rows = firstField(f, 'rows', 'row_count', 'rowCount');
    const code = firstField(f, 'error_code', 'errorCode');
    if (intent !== undefined) parts.push(String(intent));
    if (status !== undefined) parts.push(String(status));
    if (duration !== undefined) parts.push(`${duration}ms`);
    if (rows !== undefined) parts.push(`rows=${rows}`);
    if (code !== undefined) parts.push(String(code));
    if (p.text) parts.push(p.text);
    if (parts.length === 0) parts.push(JSON.stringify(f));
  } else {
    parts.push(p.text);
  }
  return `${style.dim(utcTime(event.timestamp))} ${paint(level)} ${style.cyan(rid)} ${paint(parts.join(' '))}`;
}

interface LogsFlags {
  since: string;
  filter?: string;
  follow?: boolean;
}

export const register: CommandModule = (program, run) => {
  program
    .command('logs')
    .description(describeCommand('logs'))
    .option('--since <time>', 'how far back: 30s, 10m, 2h, 1d, or an ISO time', '10m')
    .option('--filter <pattern>', 'CloudWatch Logs filter pattern, e.g. ERROR or "Task timed out"')
    .option('-f, --follow', 'keep printing new events (every 2 s) until Ctrl-C', false)
    .action(
      run(async (ctx, flags: LogsFlags) => {
        const startTime = parseSince(flags.since, Date.now());
        const group = functionLogGroup(ctx.config().function.name);
        const query = {
          logGroupName: group,
          startTime,
          ...(flags.filter ? { filterPattern: flags.filter } : {}),
        };
        const logs = ctx.aws().logs;
        const show = (events: LogEvent[]) => {
          for (const e of events) ctx.ui.info(renderLogEvent(e, ctx.ui.style));
        };
        if (!flags.follow) {
          const events = await filterLogEvents(logs, query);
          if (ctx.ui.json) ctx.ui.result(events);
          else if (events.length === 0)
            ctx.ui.info(ctx.ui.style.dim(`no events in ${group} since ${new Date(startTime).toISOString()}`));
          else show(events);
          return 0;
        }
        const stop = new AbortController();
        const onSigint = () => stop.abort();
        process.once('SIGINT', onSigint);
        try {
          ctx.ui.info(ctx.ui.style.dim(`following ${group} (Ctrl-C to stop)`));
          for await (const batch of followLogEvents(logs, query, { signal: stop.signal })) {
            // --follow --json streams one JSON document per event, since there is no end to wrap them in.
            if (ctx.ui.json) for (const e of batch) ctx.ui.result(e);
            else show(batch);
          }
        } finally {
          process.removeListener('SIGINT', onSigint);
        }
        return 0;
      }),
    );
};
