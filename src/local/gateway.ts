/**
 * The API Gateway stand-in of the local stack (docs/local.md, "The API Gateway stand-in"): one REST resource with POST, an API key required,
 * the usage plan's throttle and quota, the Lambda proxy integration (payload v1) and its 29 s timeout,
 * answering with API Gateway's own status codes, messages and headers where it would answer itself.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { UserError } from '../errors.js';
import type { InvokeResult } from './lambda-runtime.js';
import { type Clock, UsagePlanLimiter, type UsagePlanLimits } from './usage-plan-limiter.js';

/** API Gateway's hard payload limit for REST APIs. */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;
/** API Gateway's default (and, for REST APIs, maximum without a quota increase) integration timeout. */
export const INTEGRATION_TIMEOUT_MS = 29_000;

export interface GatewayKey {
  id: string;
  value: string;
}

export interface GatewayOptions {
  port: number;
  stage: string;
  resource: string;
  keys: GatewayKey[];
  usagePlan: UsagePlanLimits;
  invoke: (event: ProxyEvent) => Promise<InvokeResult>;
  integrationTimeoutMs?: number;
  maxBodyBytes?: number;
  now?: Clock;
  /** Tests only: false turns the API key check off, to prove the smoke suite notices. */
  checkApiKey?: boolean;
}

/** The Lambda proxy integration's event, payload format 1.0. */
export interface ProxyEvent {
  resource: string;
  path: string;
  httpMethod: string;
  headers: Record<string, string> | null;
  multiValueHeaders: Record<string, string[]> | null;
  queryStringParameters: Record<string, string> | null;
  multiValueQueryStringParameters: Record<string, string[]> | null;
  pathParameters: null;
  stageVariables: null;
  requestContext: Record<string, unknown> & {
    resourcePath: string;
    httpMethod: string;
    path: string;
    stage: string;
    requestId: string;
    requestTimeEpoch: number;
    identity: Record<string, unknown> & { sourceIp: string; apiKey: string | null; apiKeyId: string | null };
  };
  body: string | null;
  isBase64Encoded: boolean;
}

export interface Gateway {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** What API Gateway answers by itself, with the x-amzn-ErrorType it sends. */
const GATEWAY_ANSWERS = {
  missingToken: {
    status: 403,
    message: 'Missing Authentication Token',
    type: 'MissingAuthenticationTokenException',
  },
  forbidden: { status: 403, message: 'Forbidden', type: 'ForbiddenException' },
  throttled: { status: 429, message: 'Too Many Requests', type: 'TooManyRequestsException' },
  quota: { status: 429, message: 'Limit Exceeded', type: 'LimitExceededException' },
  tooLarge: { status: 413, message: 'Request Too Long', type: 'RequestTooLongException' },
  timeout: { status: 504, message: 'Endpoint request timed out', type: 'IntegrationTimeoutException' },
  badResponse: { status: 502, message: 'Internal server error', type: 'InternalServerErrorException' },
} as const;

type GatewayAnswer = (typeof GATEWAY_ANSWERS)[keyof typeof GATEWAY_ANSWERS];

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `requestContext.requestTime` in API Gateway's format: 09/Apr/2015:12:34:56 +0000. */
export function apiGatewayRequestTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** Headers as API Gateway passes them: names as the client sent them; single-value form keeps the last. */
function proxyHeaders(raw: string[]): { single: Record<string, string>; multi: Record<string, string[]> } {
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    single[name] = value;
    multi[name] = [...(multi[name] ?? []), value];
  }
  return { single, multi };
}

function proxyQuery(search: URLSearchParams): {
  single: Record<string, string> | null;
  multi: Record<string, string[]> | null;
} {
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const [k, v] of search) {
    single[k] = v;
    multi[k] = [...(multi[k] ?? []), v];
  }
  return Object.keys(single).length === 0 ? { single: null, multi: null } : { single, multi };
}

/** The x-api-key header in any case; the last one when sent twice. */
function apiKeyHeader(raw: string[]): string | undefined {
  let key: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]?.toLowerCase() === 'x-api-key') key = raw[i + 1];
  return key;
}

/** Read the body, stopping as soon as it is over the limit. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolveBody, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      req.resume();
      resolveBody('too-large');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        resolveBody('too-large');
      } else chunks.push(chunk);
    });
    req.on('end', () => {
      if (size <= limit) resolveBody(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

/** The integration's answer, as API Gateway maps a Lambda proxy response; a malformed one is a 502. */
function mapProxyResponse(
  result: unknown,
): { status: number; headers: Record<string, string | string[]>; body: Buffer } | undefined {
  if (typeof result !== 'object' || result === null) return undefined;
  const r = result as Record<string, unknown>;
  const status = r.statusCode === undefined ? 200 : Number(r.statusCode);
  if (!Number.isInteger(status) || status < 100 || status > 599) return undefined;
  const headers: Record<string, string | string[]> = {};
  if (r.headers !== undefined && r.headers !== null) {
    if (typeof r.headers !== 'object') return undefined;
    for (const [k, v] of Object.entries(r.headers)) headers[k] = String(v);
  }
  if (r.multiValueHeaders && typeof r.multiValueHeaders === 'object') {
    for (const [k, v] of Object.entries(r.multiValueHeaders))
      if (Array.isArray(v)) headers[k] = v.map(String);
  }
  if (r.body !== undefined && r.body !== null && typeof r.body !== 'string') return undefined;
  const text = (r.body as string | undefined) ?? '';
  const body = r.isBase64Encoded === true ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8');
  return { status, headers, body };
}

/** Start the stand-in on 127.0.0.1. */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const now = options.now ?? Date.now;
  const limiter = new UsagePlanLimiter(options.usagePlan, now);
  const keysByValue = new Map(options.keys.map((k) => [k.value, k]));
  const resourcePath = `/${options.resource}`;
  const stagePath = `/${options.stage}${resourcePath}`;
  const integrationTimeoutMs = options.integrationTimeoutMs ?? INTEGRATION_TIMEOUT_MS;
  const maxBodyBytes = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const apiId = randomBytes(5).toString('hex');
  const resourceId = randomBytes(3).toString('hex');
  const deploymentId = randomBytes(3).toString('hex');

  const answer = (res: ServerResponse, requestId: string, a: GatewayAnswer): void => {
    const body = JSON.stringify({ message: a.message });
    res.writeHead(a.status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
      'x-amzn-RequestId': requestId,
      'x-amzn-ErrorType': a.type,
      'x-amz-apigw-id': randomBytes(8).toString('base64url').slice(0, 16),
    });
    res.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = randomUUID();
    const received = now();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
    // API Gateway answers an unknown resource or method before looking at the key.
    if (path !== stagePath || req.method !== 'POST') {
      req.resume();
      return answer(res, requestId, GATEWAY_ANSWERS.missingToken);
    }
    const keyValue = apiKeyHeader(req.rawHeaders);
    const key = keyValue === undefined ? undefined : keysByValue.get(keyValue);
    const checkKey = options.checkApiKey ?? true;
    if (checkKey && !key) {
      req.resume();
      return answer(res, requestId, GATEWAY_ANSWERS.forbidden);
    }
    const decision = limiter.check(key?.id ?? keyValue ?? '');
    if (decision !== 'admit') {
      req.resume();
      return answer(
        res,
        requestId,
        decision === 'throttled' ? GATEWAY_ANSWERS.throttled : GATEWAY_ANSWERS.quota,
      );
    }
    const body = await readBody(req, maxBodyBytes);
    if (body === 'too-large') return answer(res, requestId, GATEWAY_ANSWERS.tooLarge);

    const headers = proxyHeaders(req.rawHeaders);
    const query = proxyQuery(url.searchParams);
    const sourceIp = req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1';
    const event: ProxyEvent = {
      resource: resourcePath,
      path: resourcePath,
      httpMethod: 'POST',
      headers: headers.single,
      multiValueHeaders: headers.multi,
      queryStringParameters: query.single,
      multiValueQueryStringParameters: query.multi,
      pathParameters: null,
      stageVariables: null,
      requestContext: {
        resourceId,
        resourcePath,
        httpMethod: 'POST',
        extendedRequestId: randomBytes(8).toString('base64url').slice(0, 16),
        requestTime: apiGatewayRequestTime(received),
        path: stagePath,
        accountId: '000000000000',
        protocol: `HTTP/${req.httpVersion}`,
        stage: options.stage,
        domainPrefix: '127',
        requestTimeEpoch: received,
        requestId,
        identity: {
          cognitoIdentityPoolId: null,
          accountId: null,
          cognitoIdentityId: null,
          caller: null,
          sourceIp,
          principalOrgId: null,
          accessKey: null,
          cognitoAuthenticationType: null,
          cognitoAuthenticationProvider: null,
          userArn: null,
          userAgent: req.headers['user-agent'] ?? null,
          user: null,
          apiKey: keyValue ?? null,
          apiKeyId: key?.id ?? null,
        },
        domainName: req.headers.host ?? '127.0.0.1',
        deploymentId,
        apiId,
      },
      body: body.length === 0 ? null : body.toString('utf8'),
      isBase64Encoded: false,
    };

    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), integrationTimeoutMs);
    });
    // The function keeps running after the gateway gives up, as it does on AWS.
    const outcome = await Promise.race([options.invoke(event), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') return answer(res, requestId, GATEWAY_ANSWERS.timeout);
    const mapped = outcome.ok ? mapProxyResponse(outcome.response) : undefined;
    if (!mapped) return answer(res, requestId, GATEWAY_ANSWERS.badResponse);
    res.writeHead(mapped.status, {
      ...mapped.headers,
      'Content-Length': mapped.body.length,
      'x-amzn-RequestId': requestId,
      'x-amz-apigw-id': randomBytes(8).toString('base64url').slice(0, 16),
      'X-Amzn-Trace-Id': `Root=1-${Math.floor(received / 1000).toString(16)}-${randomBytes(12).toString('hex')}`,
    });
    res.end(mapped.body);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) answer(res, randomUUID(), GATEWAY_ANSWERS.badResponse);
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE'
          ? new UserError(`port ${options.port} on 127.0.0.1 is already in use`, {
              hint: 'Stop what uses it, or choose another port with --port (or local.port in the config).',
            })
          : err,
      );
    });
    server.listen(options.port, '127.0.0.1', () => resolveListen());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    url: `http://127.0.0.1:${port}${stagePath}`,
    port,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}
