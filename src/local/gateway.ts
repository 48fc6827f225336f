/**
 * The API Gateway stand-in of the local stack (docs/local.md, "The API Gateway stand-in"): one REST resource with POST, an API key required,
 * the usage plan's throttle and quota, the Lambda proxy integration (payload v1) and its 29 s timeout,
 * answering with API Gateway's own status codes, messages and headers where it would answer itself.
 */
import { isUtf8 } from 'node:buffer';
import { randomBytes, randomFillSync, randomUUID } from 'node:crypto';
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import type { Duplex } from 'node:stream';
import { UserError } from '../errors.js';
import { type InvokeResult, THROTTLED, WITHDRAWN } from './lambda-runtime.js';
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
  invoke: (event: ProxyEvent, control: InvokeControl) => Promise<InvokeResult>;
  integrationTimeoutMs?: number;
  maxBodyBytes?: number;
  now?: Clock;
  /** Tests only: false turns the API key check off, to prove the smoke suite notices. */
  checkApiKey?: boolean;
  /**
   * Where the stand-in's own lines go (the stack's function log, as API Gateway's execution log sits
   * beside the function's): every 5xx it answers itself and every request it sheds, with its request id.
   */
  onLog?: (line: string) => void;
}

/** What the stand-in tells the integration about the request it waits for. */
export interface InvokeControl {
  /** Aborted when the client goes away or the integration timeout passes: an event still waiting is dropped. */
  signal: AbortSignal;
  /** The integration calls it with the Lambda request id once the function has the event. */
  onStarted(lambdaRequestId: string): void;
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
  badRequest: { status: 400, message: 'Bad Request', type: 'BadRequestException' },
  headersTooLarge: {
    status: 431,
    message: 'Request Header Fields Too Large',
    type: 'RequestHeaderFieldsTooLargeException',
  },
} as const;

type GatewayAnswer = (typeof GATEWAY_ANSWERS)[keyof typeof GATEWAY_ANSWERS];

/**
 * Random bytes for the ids of every answer, taken from a pool filled 4 KB at a time: each call into
 * OpenSSL costs about as much as the bytes of a whole request's ids, so one fill serves about 150
 * requests instead of three calls per request.
 */
const randomPool = Buffer.alloc(4096);
let randomUsed = randomPool.length;

function poolBytes(n: number): Buffer {
  if (randomUsed + n > randomPool.length) {
    randomFillSync(randomPool);
    randomUsed = 0;
  }
  randomUsed += n;
  return randomPool.subarray(randomUsed - n, randomUsed);
}

/** API Gateway's id forms: `x-amz-apigw-id` and `extendedRequestId` (11 characters here), the trace id's hex part. */
const apigwId = () => poolBytes(8).toString('base64url');
const traceHex = () => poolBytes(12).toString('hex');

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `requestContext.requestTime` in API Gateway's format: 09/Apr/2015:12:34:56 +0000. */
export function apiGatewayRequestTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/**
 * Name/value pairs as the proxy event's two maps: the single-value one keeps the last value, the
 * multi-value one all of them. The maps have no prototype: a name is the client's to choose, and
 * `constructor`, `__proto__` or `toString` must be keys like any other, never found on Object.prototype.
 */
function proxyMaps(pairs: Iterable<[string, string]>): {
  single: Record<string, string>;
  multi: Record<string, string[]>;
} {
  const single: Record<string, string> = Object.create(null);
  const multi: Record<string, string[]> = Object.create(null);
  for (const [name, value] of pairs) {
    single[name] = value;
    const values = Object.hasOwn(multi, name) ? multi[name] : undefined;
    if (values) values.push(value);
    else multi[name] = [value];
  }
  return { single, multi };
}

/** Headers as API Gateway passes them: names as the client sent them. */
function* headerPairs(raw: string[]): Generator<[string, string]> {
  for (let i = 0; i + 1 < raw.length; i += 2) yield [raw[i] as string, raw[i + 1] as string];
}

function proxyQuery(search: URLSearchParams): {
  single: Record<string, string> | null;
  multi: Record<string, string[]> | null;
} {
  const maps = proxyMaps(search);
  return Object.keys(maps.single).length === 0 ? { single: null, multi: null } : maps;
}

/** The x-api-key header in any case; the last one when sent twice. */
function apiKeyHeader(raw: string[]): string | undefined {
  let key: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]?.toLowerCase() === 'x-api-key') key = raw[i + 1];
  return key;
}

/** Read the body, stopping as soon as it is over the limit; 'gone' when the client left half-way. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large' | 'gone'> {
  return new Promise((resolveBody, reject) => {
    req.once('close', () => {
      if (!req.complete) resolveBody('gone');
    });
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

/**
 * The integration's answer, as API Gateway maps a Lambda proxy response; a malformed one is a 502.
 * `bodyBytes`, when the runtime has them, are `body` already encoded as UTF-8.
 */
function mapProxyResponse(
  result: unknown,
  bodyBytes?: Buffer,
): { status: number; headers: Record<string, string | string[]>; body: Buffer } | undefined {
  if (typeof result !== 'object' || result === null) return undefined;
  const r = result as Record<string, unknown>;
  const status = r.statusCode === undefined ? 200 : Number(r.statusCode);
  if (!Number.isInteger(status) || status < 100 || status > 599) return undefined;
  const headers: Record<string, string | string[]> = Object.create(null);
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
  const body =
    r.isBase64Encoded === true ? Buffer.from(text, 'base64') : (bodyBytes ?? Buffer.from(text, 'utf8'));
  return { status, headers, body };
}

/** The raw bytes of a gateway answer, for a socket the HTTP server has not parsed a request from. */
function rawAnswer(a: GatewayAnswer, requestId: string): string {
  const body = JSON.stringify({ message: a.message });
  return [
    `HTTP/1.1 ${a.status} ${STATUS_CODES[a.status] ?? ''}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    `x-amzn-RequestId: ${requestId}`,
    `x-amzn-ErrorType: ${a.type}`,
    'Connection: close',
    '',
    body,
  ].join('\r\n');
}

/** A request line that reads as "METHOD target HTTP/1.x": the method is a token, if not one Node knows. */
const REQUEST_LINE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ \S+ HTTP\/1\.[01]\r?$/;

/**
 * What to answer a request Node's parser refused. Where the request line reads as one (a method
 * Node's parser does not know, such as `FOO` or `post`), the answer is API Gateway's for a method the
 * resource does not have; headers over the parser's limit get 431; anything else 400. All as JSON.
 */
function answerForParseError(err: Error & { code?: string; rawPacket?: Buffer }): GatewayAnswer {
  if (err.code === 'HPE_HEADER_OVERFLOW') return GATEWAY_ANSWERS.headersTooLarge;
  if (err.code === 'HPE_INVALID_METHOD') {
    const firstLine = err.rawPacket?.toString('latin1').split('\n', 1)[0] ?? '';
    if (REQUEST_LINE.test(firstLine)) return GATEWAY_ANSWERS.missingToken;
  }
  return GATEWAY_ANSWERS.badRequest;
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

  const log = (level: 'WARN' | 'ERROR', message: string, fields: Record<string, unknown>) =>
    options.onLog?.(JSON.stringify({ level, source: 'api-gateway', message, ...fields }));

  const answer = (res: ServerResponse, requestId: string, a: GatewayAnswer): void => {
    const body = JSON.stringify({ message: a.message });
    res.writeHead(a.status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
      'x-amzn-RequestId': requestId,
      'x-amzn-ErrorType': a.type,
      'x-amz-apigw-id': apigwId(),
    });
    res.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> => {
    const received = now();
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://127.0.0.1');
    } catch {
      // A target no URL parser reads (`//[`, a bare `*`): not a path of this API.
      req.resume();
      return answer(res, requestId, GATEWAY_ANSWERS.badRequest);
    }
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
    if (body === 'gone') return;
    if (body === 'too-large') return answer(res, requestId, GATEWAY_ANSWERS.tooLarge);

    const headers = proxyMaps(headerPairs(req.rawHeaders));
    const query = proxyQuery(url.searchParams);
    const sourceIp = req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1';
    // Bytes that are not UTF-8 are passed as they came, base64-encoded (the form API Gateway uses for
    // a body it does not treat as text), so the function's own check sees them; decoding them here
    // would replace them with U+FFFD and hide them from it.
    const text = body.length > 0 && isUtf8(body);
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
        extendedRequestId: apigwId(),
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
      body: body.length === 0 ? null : text ? body.toString('utf8') : body.toString('base64'),
      isBase64Encoded: body.length > 0 && !text,
    };

    // The stand-in stops waiting at the integration timeout or when the client goes away; either
    // withdraws an event still waiting for a container. One already running keeps running, as on AWS.
    const gone = new AbortController();
    let lambdaRequestId: string | null = null;
    const timer = setTimeout(() => gone.abort('timeout'), integrationTimeoutMs);
    const onClose = () => {
      if (!res.writableFinished) gone.abort('client');
    };
    res.once('close', onClose);
    const stopped = new Promise<'timeout' | 'client'>((resolve) =>
      gone.signal.addEventListener('abort', () => resolve(gone.signal.reason), { once: true }),
    );
    const outcome = await Promise.race([
      options.invoke(event, {
        signal: gone.signal,
        onStarted: (id) => {
          lambdaRequestId = id;
        },
      }),
      stopped,
    ]).finally(() => {
      clearTimeout(timer);
      res.off('close', onClose);
    });
    if (outcome === 'client') {
      log('WARN', 'the client went away before the answer', {
        request_id: requestId,
        lambda_request_id: lambdaRequestId,
        ...(lambdaRequestId ? {} : { dropped: 'the event had not started and never will' }),
      });
      return;
    }
    if (outcome === 'timeout') {
      log('ERROR', `504 ${GATEWAY_ANSWERS.timeout.message} after ${integrationTimeoutMs} ms`, {
        request_id: requestId,
        lambda_request_id: lambdaRequestId,
        ...(lambdaRequestId
          ? { function: 'still running; its own timeout ends it' }
          : { dropped: 'the event was still waiting for a container and never started' }),
      });
      return answer(res, requestId, GATEWAY_ANSWERS.timeout);
    }
    if (!outcome.ok && outcome.errorType === THROTTLED) {
      log('WARN', `429 ${GATEWAY_ANSWERS.throttled.message}: the function's concurrency is used up`, {
        request_id: requestId,
        detail: outcome.errorMessage,
      });
      return answer(res, requestId, GATEWAY_ANSWERS.throttled);
    }
    // Withdrawn only when the signal fired, which the race above has already answered.
    if (!outcome.ok && outcome.errorType === WITHDRAWN) return;
    const mapped = outcome.ok ? mapProxyResponse(outcome.response, outcome.bodyBytes) : undefined;
    if (!mapped) {
      log('ERROR', `502 ${GATEWAY_ANSWERS.badResponse.message}`, {
        request_id: requestId,
        lambda_request_id: outcome.requestId,
        cause: outcome.ok ? 'malformed Lambda proxy response' : outcome.errorType,
      });
      return answer(res, requestId, GATEWAY_ANSWERS.badResponse);
    }
    res.writeHead(mapped.status, {
      ...mapped.headers,
      'Content-Length': mapped.body.length,
      'x-amzn-RequestId': requestId,
      'x-amz-apigw-id': apigwId(),
      'X-Amzn-Trace-Id': `Root=1-${Math.floor(received / 1000).toString(16)}-${traceHex()}`,
    });
    res.end(mapped.body);
  };

  const server: Server = createServer((req, res) => {
    const requestId = randomUUID();
    handle(req, res, requestId).catch((err: unknown) => {
      if (res.destroyed) return;
      log('ERROR', `502 ${GATEWAY_ANSWERS.badResponse.message}`, {
        request_id: requestId,
        cause: (err as Error)?.message ?? String(err),
      });
      if (!res.headersSent) answer(res, requestId, GATEWAY_ANSWERS.badResponse);
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;
  // Requests Node's parser refuses (an unknown method, obs-fold, headers over 16 KB, a bad request
  // line) get a JSON answer like every other, instead of Node's bodyless 400/431.
  server.on('clientError', (err: Error & { code?: string; rawPacket?: Buffer }, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    socket.end(rawAnswer(answerForParseError(err), randomUUID()));
  });
  // CONNECT asks for a tunnel, which this API is not: the answer for a method the resource lacks.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    socket.end(rawAnswer(GATEWAY_ANSWERS.missingToken, randomUUID()));
  });
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
