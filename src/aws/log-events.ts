/**
 * Reading the function's CloudWatch log events: one window with FilterLogEvents (pages flattened),
 * and following new events by polling. Polling rather than StartLiveTail: it works with every
 * emulator, needs only logs:FilterLogEvents, and a 2 s poll is fast enough for a person watching.
 * Nothing here prints.
 */
import {
  type CloudWatchLogsClient,
  paginateFilterLogEvents,
  ResourceNotFoundException,
} from '@aws-sdk/client-cloudwatch-logs';
import { UserError } from '../errors.js';
import { pagesOf } from './pages.js';

export interface LogEvent {
  eventId: string;
  /** Epoch milliseconds when the event happened. */
  timestamp: number;
  message: string;
  logStreamName?: string;
}

export interface LogQuery {
  logGroupName: string;
  /** Epoch ms, inclusive. */
  startTime: number;
  /** Epoch ms, inclusive; open-ended when absent. */
  endTime?: number;
  /** CloudWatch Logs filter pattern syntax, e.g. `ERROR` or `?"Task timed out" ?ERROR`. */
  filterPattern?: string;
  /** Stop after this many events (the newest ones are not preferred: events come oldest first). */
  limit?: number;
}

/** The log group name Lambda writes to for a function. */
export function functionLogGroup(functionName: string): string {
  return `/aws/lambda/${functionName}`;
}

function missingGroup(name: string, cause: unknown): UserError {
  return new UserError(`the log group ${name} does not exist`, {
    hint:
      'Lambda creates it on the first invocation if the role may write logs. Invoke the function once ' +
      '(`chatbot-ops invoke health --direct`), then run `chatbot-ops doctor` if it is still missing.',
    cause,
  });
}

/** Every event of the window, oldest first, following nextToken until the end (or `limit`). */
export async function filterLogEvents(logs: CloudWatchLogsClient, q: LogQuery): Promise<LogEvent[]> {
  const events: LogEvent[] = [];
  try {
    for await (const page of paginateFilterLogEvents(pagesOf(logs), {
      logGroupName: q.logGroupName,
      startTime: q.startTime,
      ...(q.endTime === undefined ? {} : { endTime: q.endTime }),
      ...(q.filterPattern ? { filterPattern: q.filterPattern } : {}),
    })) {
      for (const e of page.events ?? []) {
        if (e.eventId === undefined || e.timestamp === undefined) continue;
        events.push({
          eventId: e.eventId,
          timestamp: e.timestamp,
          message: e.message ?? '',
          ...(e.logStreamName ? { logStreamName: e.logStreamName } : {}),
        });
        if (q.limit !== undefined && events.length >= q.limit) return events;
      }
    }
  } catch (err) {
    if (err instanceof ResourceNotFoundException) throw missingGroup(q.logGroupName, err);
    throw err;
  }
  // Pages are ordered per stream; across streams the order is only roughly by time.
  return events.sort((a, b) => a.timestamp - b.timestamp || a.eventId.localeCompare(b.eventId));
}

/**
 * Events can be ingested a few seconds after they happened, with a timestamp older than the newest
 * one already shown; each poll therefore looks back this far and drops events it has seen by id.
 */
export const FOLLOW_LOOKBACK_MS = 30_000;

export interface FollowOptions {
  intervalMs?: number;
  signal: AbortSignal;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Yield batches of new events, polling every `intervalMs` (2 s) until `signal` aborts (Ctrl-C).
 * The first batch is the window from `startTime`. Each event is yielded once, even when polls overlap.
 */
export async function* followLogEvents(
  logs: CloudWatchLogsClient,
  q: Omit<LogQuery, 'endTime' | 'limit'>,
  options: FollowOptions,
): AsyncGenerator<LogEvent[]> {
  const sleep = options.sleep ?? abortableSleep;
  const seen = new Map<string, number>();
  let from = q.startTime;
  while (!options.signal.aborted) {
    const events = await filterLogEvents(logs, { ...q, startTime: from });
    const fresh = events.filter((e) => !seen.has(e.eventId));
    for (const e of fresh) seen.set(e.eventId, e.timestamp);
    const newest = events.reduce((m, e) => Math.max(m, e.timestamp), from);
    from = Math.max(q.startTime, newest - FOLLOW_LOOKBACK_MS);
    // Ids older than the next window can never come back: forget them so memory stays bounded.
    for (const [id, ts] of seen) if (ts < from) seen.delete(id);
    if (fresh.length > 0) yield fresh;
    if (options.signal.aborted) break;
    await sleep(options.intervalMs ?? 2000, options.signal);
  }
}

/** A log line taken apart: the Node.js runtime's tab-separated prefix, a JSON body, or Lambda's own lines. */
export interface ParsedLogLine {
  level?: string;
  requestId?: string;
  /** The fields of a JSON log line. */
  fields?: Record<string, unknown>;
  /** The text when it is not JSON. */
  text: string;
}

const RUNTIME_PREFIX = /^(\d{4}-\d{2}-\d{2}T[\d:.]+Z)\t([\w-]+)\t([A-Z]+)\t([\s\S]*)$/;
const TIMEOUT_LINE = /^\d{4}-\d{2}-\d{2}T[\d:.]+Z\s+([\w-]+)\s+(Task timed out after [\d.]+ seconds)/;
const PLATFORM_LINE = /^(START|END|REPORT|INIT_START) /;

/** The first of these fields that is set (log formats name the same thing differently). */
export function firstField(fields: Record<string, unknown>, ...names: string[]): unknown {
  for (const n of names) if (fields[n] !== undefined && fields[n] !== null) return fields[n];
  return undefined;
}

/** One CloudWatch message of a Node.js Lambda function, taken apart. */
export function parseLogLine(message: string): ParsedLogLine {
  const line = message.replace(/\n+$/, '');
  const timeout = TIMEOUT_LINE.exec(line);
  if (timeout) return { level: 'ERROR', requestId: timeout[1] ?? '', text: timeout[2] ?? '' };
  if (PLATFORM_LINE.test(line)) {
    const requestId = /RequestId: ([\w-]+)/.exec(line)?.[1];
    return {
      level: 'PLATFORM',
      ...(requestId ? { requestId } : {}),
      text: line.replaceAll('\t', '  ').trim(),
    };
  }
  let level: string | undefined;
  let requestId: string | undefined;
  let body = line;
  const prefixed = RUNTIME_PREFIX.exec(line);
  if (prefixed) {
    requestId = prefixed[2] === 'undefined' ? undefined : prefixed[2];
    level = prefixed[3];
    body = prefixed[4] ?? '';
  }
  if (body.trimStart().startsWith('{')) {
    try {
      const fields = JSON.parse(body) as Record<string, unknown>;
      if (fields && typeof fields === 'object' && !Array.isArray(fields)) {
        // Lambda's JSON log format nests the function's own object under "message".
        const inner =
          fields.message && typeof fields.message === 'object'
            ? (fields.message as Record<string, unknown>)
            : undefined;
        const all = inner ? { ...fields, ...inner } : fields;
        const lvl = firstField(all, 'level', 'levelname', 'severity');
        const rid = firstField(all, 'request_id', 'requestId', 'awsRequestId');
        return {
          ...(typeof lvl === 'string' ? { level: lvl.toUpperCase() } : level ? { level } : {}),
          ...(typeof rid === 'string' ? { requestId: rid } : requestId ? { requestId } : {}),
          fields: all,
          text: typeof all.message === 'string' ? all.message : typeof all.msg === 'string' ? all.msg : '',
        };
      }
    } catch {
      // Not JSON after all: show it as text.
    }
  }
  return { ...(level ? { level } : {}), ...(requestId ? { requestId } : {}), text: body };
}
