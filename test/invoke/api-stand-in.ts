/**
 * A loopback HTTP server standing in for the deployed API Gateway + function, at the path an
 * emulator serves the invoke URL on (`--endpoint-url` makes the CLI build that URL from the API id
 * it reads from API Gateway). It records every request and answers like the deployment: 403
 * without a known key, then the backend's envelopes; tests can script the next statuses.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface ScriptedAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export const REQUEST_ID = '7c0ffee0-0000-4000-8000-000000000001';

export const LOG_ENTRY = {
  id: 41,
  timestamp: '2026-11-29T11:58:00.123Z',
  ip_address: '192.168.1.1',
  method: 'GET',
  endpoint: '/api/users',
  query_string: null,
  status_code: 200,
  bytes_sent: 512,
  response_time_ms: 35,
  referrer: null,
  user_agent: 'curl/8.0',
};

const ok = (data: unknown): ScriptedAnswer => ({
  status: 200,
  body: { request_id: REQUEST_ID, success: true, data },
});
const refused = (status: number, error: string, code: string): ScriptedAnswer => ({
  status,
  body: { request_id: REQUEST_ID, success: false, error, error_code: code },
});

/** What the healthy deployment answers to a request that got past the key check. */
export function backendAnswer(body: string): ScriptedAnswer {
  let request: { intent?: unknown; params?: Record<string, unknown> };
  try {
    request = JSON.parse(body) as typeof request;
  } catch {
    return refused(400, 'the body is not valid JSON', 'INVALID_JSON');
  }
  const params = request.params ?? {};
  switch (request.intent) {
    case 'health':
      return ok({ status: 'ok', database: { reachable: true, latency_ms: 3 } });
    case 'get_traffic_summary':
      if (params.top_n === 0) return refused(400, 'top_n: must be from 1 to 50', 'INVALID_PARAMS');
      return ok({
        window: { start: '2026-11-28T12:00:00.000Z', end: '2026-11-29T12:00:00.000Z' },
        total_requests: 1234,
        error_count: 56,
        error_rate: 0.0454,
        top_endpoints: { '/api/users': 700, '/login': 34 },
        top_ips: { '192.168.1.1': 99 },
        status_breakdown: { '2xx': 1100, '3xx': 78, '4xx': 50, '5xx': 6 },
      });
    case 'get_access_logs':
    case 'get_error_logs':
      return ok({
        window: null,
        logs: [LOG_ENTRY, { ...LOG_ENTRY, id: 40, status_code: 404, endpoint: '/missing' }],
        count: 2,
        next_cursor: 'eyJ0IjoxfQ.c2ln',
      });
    default:
      return refused(400, 'unknown intent; valid intents: health, get_traffic_summary', 'UNKNOWN_INTENT');
  }
}

export interface ApiStandIn {
  /** The origin to pass as --endpoint-url. */
  origin: string;
  /** The invoke URL the CLI builds from --endpoint-url and the API id. */
  url: string;
  seen: SeenRequest[];
  /** Answers for the next requests, in order, before the normal behaviour resumes. */
  script: ScriptedAnswer[];
  /** Keys API Gateway accepts; another key or none gets 403 Forbidden. */
  keys: Set<string>;
  /** A method without apiKeyRequired: a request with no key at all goes through. */
  keyOptional: boolean;
  close(): Promise<void>;
}

export async function startApiStandIn(apiId: string, acceptedKey: string): Promise<ApiStandIn> {
  const standIn = {
    seen: [] as SeenRequest[],
    script: [] as ScriptedAnswer[],
    keys: new Set([acceptedKey]),
    keyOptional: false,
  };
  const path = `/restapis/${apiId}/prod/_user_request_/chatbot`;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      standIn.seen.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
      const key = req.headers['x-api-key'];
      const answer: ScriptedAnswer =
        req.url !== path || req.method !== 'POST'
          ? { status: 403, body: { message: 'Missing Authentication Token' } }
          : (key === undefined && !standIn.keyOptional) || (typeof key === 'string' && !standIn.keys.has(key))
            ? { status: 403, body: { message: 'Forbidden' } }
            : (standIn.script.shift() ?? backendAnswer(body));
      res.writeHead(answer.status, {
        'content-type': 'application/json',
        'x-amzn-requestid': 'gw-req-0001',
        ...answer.headers,
      });
      res.end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(standIn, {
    origin,
    url: `${origin}${path}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
