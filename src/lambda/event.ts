/**
 * From a Lambda event to a request body (docs/backend.md, "Requests and answers"). Two shapes arrive:
 * - an API Gateway REST proxy event (payload v1; an HTTP API v2 event is read the same way), whose
 *   body is checked for method, size (after base64 decoding) and JSON;
 * - a direct invocation (`invoke --direct`, `doctor`): the event is the body itself, and trusted,
 *   since IAM authorised the caller; no API key applies.
 */
import { ApiError } from './errors.js';

export interface ParsedRequest {
  /** True for a direct invocation: no API key check. */
  direct: boolean;
  /** Every x-api-key value the request carried (any header case, single- and multi-value). */
  apiKeys: string[];
  body: Record<string, unknown>;
}

export interface RequestShape {
  intent: string;
  params: Record<string, unknown>;
}

type Obj = Record<string, unknown>;

const isObject = (value: unknown): value is Obj =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function proxyMethod(event: Obj): string | undefined {
  if (typeof event.httpMethod === 'string') return event.httpMethod;
  // HTTP API (payload 2.0) events carry the method in requestContext.http.
  const http = isObject(event.requestContext) ? event.requestContext.http : undefined;
  if (event.version === '2.0' && isObject(http) && typeof http.method === 'string') return http.method;
  return undefined;
}

function headerValues(event: Obj, wanted: string): string[] {
  const values: string[] = [];
  if (isObject(event.headers))
    for (const [name, value] of Object.entries(event.headers))
      if (name.toLowerCase() === wanted && typeof value === 'string') values.push(value);
  if (isObject(event.multiValueHeaders))
    for (const [name, list] of Object.entries(event.multiValueHeaders))
      if (name.toLowerCase() === wanted && Array.isArray(list))
        for (const value of list) if (typeof value === 'string') values.push(value);
  return values;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function parseJsonObject(bytes: Buffer): Obj {
  if (bytes.length === 0)
    throw new ApiError('INVALID_JSON', 'the request body is empty; send {"intent": "...", "params": {...}}');
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(bytes));
  } catch {
    throw new ApiError('INVALID_JSON', 'the request body is not valid JSON');
  }
  if (!isObject(value)) throw new ApiError('INVALID_JSON', 'the request body must be a JSON object');
  return value;
}

/** Parse an event: 405 for a method other than POST, 413 over `maxPayloadSize` bytes, INVALID_JSON. */
export function parseEvent(event: unknown, maxPayloadSize: number): ParsedRequest {
  const method = isObject(event) ? proxyMethod(event) : undefined;
  if (!isObject(event) || method === undefined) {
    if (!isObject(event)) throw new ApiError('INVALID_JSON', 'the event must be a JSON object');
    return { direct: true, apiKeys: [], body: event };
  }
  if (method.toUpperCase() !== 'POST')
    throw new ApiError('METHOD_NOT_ALLOWED', `method ${method.slice(0, 16)} is not allowed; use POST`);
  const raw = typeof event.body === 'string' ? event.body : '';
  const bytes = event.isBase64Encoded === true ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.length > maxPayloadSize)
    throw new ApiError('PAYLOAD_TOO_LARGE', `the request body is larger than ${maxPayloadSize} bytes`);
  return { direct: false, apiKeys: headerValues(event, 'x-api-key'), body: parseJsonObject(bytes) };
}

/** The body's shape: a string intent and, optionally, an object of params (null counts as none). */
export function readRequestShape(body: Obj): RequestShape {
  const { intent, params } = body;
  if (typeof intent !== 'string' || intent.trim() === '')
    throw new ApiError(
      'INVALID_REQUEST',
      'intent is required: a string such as "get_traffic_summary" (list_intents lists them)',
    );
  if (params !== undefined && params !== null && !isObject(params))
    throw new ApiError('INVALID_REQUEST', 'params must be a JSON object');
  return { intent: intent.trim(), params: params ?? {} };
}
