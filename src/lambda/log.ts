/**
 * Structured logging: one JSON object per line on stdout, which Lambda forwards to CloudWatch Logs.
 * Callers pass only what is safe to log; nothing here ever receives a key, a password or a body.
 */
import type { LogLevel } from './settings.js';

const RANK: Record<LogLevel, number> = { DEBUG: 10, INFO: 20, WARN: 30, ERROR: 40 };

export type LogSink = (line: string) => void;

export interface Logger {
  level: LogLevel;
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
}

export function createLogger(sink: LogSink, level: LogLevel = 'INFO'): Logger {
  return {
    level,
    log(at, message, fields = {}) {
      if (RANK[at] < RANK[this.level]) return;
      sink(JSON.stringify({ level: at, message, ...fields }));
    },
  };
}

/**
 * What of an error goes to the log: its class, driver code and message. Never the SQL (mysql2
 * attaches it) nor arbitrary own properties, which for a config error could hold a value.
 */
export function describeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { error: String(err) };
  const withCode = err as Error & { code?: unknown; errno?: unknown; sqlState?: unknown };
  const out: Record<string, unknown> = { error: err.message, error_name: err.name };
  if (withCode.code !== undefined) out.error_driver_code = withCode.code;
  if (withCode.errno !== undefined) out.errno = withCode.errno;
  if (err.cause !== undefined) out.cause = describeError(err.cause);
  return out;
}
