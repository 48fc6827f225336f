/**
 * Parameter schemas for intents: each parameter is described once, and that description both
 * validates a request (INVALID_PARAMS naming the field) and documents the intent in list_intents.
 * `null` counts as absent, so a chatbot that sends `"endpoint": null` is not refused.
 */
import { invalidParam } from './errors.js';
import { normaliseIpAddress } from './ip-address.js';

export interface ParamContext {
  maxQueryLimit: number;
}

export type ParamType = 'integer' | 'boolean' | 'string' | 'enum' | 'ip_address' | 'http_method' | 'iso8601';

/** What list_intents tells a chatbot about one parameter. */
export interface ParamDoc {
  type: ParamType;
  description: string;
  required: boolean;
  default?: unknown;
  minimum?: number;
  maximum?: number | string;
  /** Longest accepted text, for string parameters. */
  maxLength?: number;
  values?: readonly string[];
}

export interface ParamSpec<T> {
  doc: ParamDoc;
  /** Validate one raw value (undefined when absent); throws INVALID_PARAMS naming `field`. */
  parse(raw: unknown, field: string, ctx: ParamContext): T;
}

export type ParamSchema = Record<string, ParamSpec<unknown>>;
export type ParamValues<S extends ParamSchema> = {
  [K in keyof S]: S[K] extends ParamSpec<infer T> ? T : never;
};

type Parser<T> = (raw: unknown, field: string, ctx: ParamContext) => T;

function optional<T>(doc: Omit<ParamDoc, 'required'>, parse: Parser<T>): ParamSpec<T | undefined> {
  return {
    doc: { ...doc, required: false },
    parse: (raw, field, ctx) => (raw === undefined || raw === null ? undefined : parse(raw, field, ctx)),
  };
}

/** The same parameter, but absent means `value`. */
export function withDefault<T>(spec: ParamSpec<T | undefined>, value: T): ParamSpec<T> {
  return {
    doc: { ...spec.doc, default: value instanceof Date ? value.toISOString() : value },
    parse: (raw, field, ctx) => spec.parse(raw, field, ctx) ?? value,
  };
}

/** The same parameter, but it must be given. */
export function required<T>(spec: ParamSpec<T | undefined>): ParamSpec<T> {
  return {
    doc: { ...spec.doc, required: true },
    parse: (raw, field, ctx) => {
      const value = spec.parse(raw, field, ctx);
      if (value === undefined) throw invalidParam(field, 'is required');
      return value;
    },
  };
}

/**
 * A whole number in [min, max]; `max: 'MAX_QUERY_LIMIT'` follows the configuration. Digit strings
 * are accepted too ("50"), as chatbots and `--param k=v` often send numbers as text.
 */
export function integerParam(
  description: string,
  range: { min: number; max: number | 'MAX_QUERY_LIMIT' },
): ParamSpec<number | undefined> {
  return optional(
    { type: 'integer', description, minimum: range.min, maximum: range.max },
    (raw, field, ctx) => {
      const max = range.max === 'MAX_QUERY_LIMIT' ? ctx.maxQueryLimit : range.max;
      const value = typeof raw === 'string' && /^-?\d{1,16}$/.test(raw.trim()) ? Number(raw.trim()) : raw;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < range.min || value > max)
        throw invalidParam(field, `must be a whole number from ${range.min} to ${max}`);
      return value;
    },
  );
}

export function booleanParam(description: string): ParamSpec<boolean | undefined> {
  return optional({ type: 'boolean', description }, (raw, field) => {
    if (raw === true || raw === 'true') return true;
    if (raw === false || raw === 'false') return false;
    throw invalidParam(field, 'must be true or false');
  });
}

function text(raw: unknown, field: string, maxLength: number): string {
  if (typeof raw !== 'string') throw invalidParam(field, 'must be a string');
  if (raw.length === 0 || raw.length > maxLength)
    throw invalidParam(field, `must be from 1 to ${maxLength} characters long`);
  return raw;
}

export function stringParam(description: string, maxLength: number): ParamSpec<string | undefined> {
  return optional({ type: 'string', description, maxLength }, (raw, field) => text(raw, field, maxLength));
}

export function enumParam<V extends string>(
  description: string,
  values: readonly V[],
): ParamSpec<V | undefined> {
  return optional({ type: 'enum', description, values }, (raw, field) => {
    if (typeof raw !== 'string' || !(values as readonly string[]).includes(raw))
      throw invalidParam(field, `must be one of ${values.join(', ')}`);
    return raw as V;
  });
}

/** An address, in the spelling the loader stores (ip-address.ts), so the filter finds its rows. */
export function ipAddressParam(description: string): ParamSpec<string | undefined> {
  return optional({ type: 'ip_address', description }, (raw, field) => {
    const address = typeof raw === 'string' ? normaliseIpAddress(raw.trim()) : undefined;
    if (address === undefined) throw invalidParam(field, 'must be an IPv4 or IPv6 address');
    return address;
  });
}

/** An HTTP method token (RFC 9110 tchar), compared upper-case as logs record it. */
export function httpMethodParam(description: string): ParamSpec<string | undefined> {
  return optional({ type: 'http_method', description }, (raw, field) => {
    if (typeof raw !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,16}$/.test(raw))
      throw invalidParam(field, 'must be an HTTP method such as GET or POST');
    return raw.toUpperCase();
  });
}

const ISO_8601 =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?([Zz]|[+-]\d{2}(?::?\d{2})?)?)?$/;

/**
 * Parse an ISO 8601 date or date-time. No offset means UTC; fractions beyond milliseconds are
 * truncated (the column keeps milliseconds). Returns undefined for anything else, including
 * impossible dates such as February 30.
 */
export function parseIsoTime(value: string): Date | undefined {
  const m = ISO_8601.exec(value.trim());
  if (!m) return undefined;
  const [year, month, day, hour = 0, minute = 0, second = 0] = m.slice(1, 7).map((part) => Number(part ?? 0));
  const millis = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  if (month! < 1 || month! > 12 || hour > 23 || minute > 59 || second > 59) return undefined;
  // Date.UTC reads years 0-99 as 1900-1999; setUTCFullYear takes the year as written.
  const check = new Date(0);
  check.setUTCFullYear(year!, month! - 1, day!);
  check.setUTCHours(hour, minute, second, millis);
  if (check.getUTCDate() !== day || check.getUTCMonth() !== month! - 1) return undefined;
  const local = check.getTime();
  let offsetMinutes = 0;
  const offset = m[8];
  if (offset && offset.toUpperCase() !== 'Z') {
    const sign = offset.startsWith('-') ? -1 : 1;
    const digits = offset.slice(1).replace(':', '');
    const hh = Number(digits.slice(0, 2));
    const mm = Number(digits.slice(2) || '0');
    if (hh > 23 || mm > 59) return undefined;
    offsetMinutes = sign * (hh * 60 + mm);
  }
  const result = new Date(local - offsetMinutes * 60000);
  return Number.isNaN(result.getTime()) ? undefined : result;
}

export function timeParam(description: string): ParamSpec<Date | undefined> {
  return optional({ type: 'iso8601', description }, (raw, field) => {
    const parsed = typeof raw === 'string' ? parseIsoTime(raw) : undefined;
    if (!parsed)
      throw invalidParam(
        field,
        'must be an ISO 8601 time such as 2024-05-01T12:00:00Z (no offset means UTC)',
      );
    return parsed;
  });
}

/**
 * Validate a request's params against a schema. A parameter the intent does not take is an error
 * too: a misspelt filter (`ip` for `ip_address`) would otherwise silently widen the answer.
 */
export function parseParams<S extends ParamSchema>(
  schema: S,
  raw: Record<string, unknown>,
  ctx: ParamContext,
): ParamValues<S> {
  for (const name of Object.keys(raw)) {
    if (!Object.hasOwn(schema, name)) {
      const known = Object.keys(schema);
      throw invalidParam(
        // Echo at most a short prefix of a name the caller made up.
        name.length > 64 ? `${name.slice(0, 64)}...` : name,
        `unknown parameter; this intent takes ${known.length > 0 ? known.join(', ') : 'no parameters'}`,
      );
    }
  }
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(schema)) values[name] = spec.parse(raw[name], name, ctx);
  return values as ParamValues<S>;
}
