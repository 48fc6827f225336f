/**
 * The typed client of the chatbot API (`import { ChatbotClient } from 'chatbot-ops/client'`), and the
 * one way this project calls the backend over HTTP: `invoke`, `test`, `local up` and `mcp` all go
 * through it. One method per intent, the key from an option or CHATBOT_API_KEY, a timeout per attempt,
 * retries with full jitter on 429 and 5xx only, cursor iteration, and failures as ChatbotApiError.
 */
import { type ApiResponse, callApi, type RetryTiming } from './api-client.js';
import { summarizeBody } from './body-text.js';
import type {
  Bandwidth,
  BandwidthParams,
  CountParams,
  EndpointStats,
  EndpointStatsParams,
  ErrorLogParams,
  Health,
  IntentList,
  IntentName,
  Intents,
  IpActivity,
  IpActivityParams,
  LogEntry,
  LogFilterParams,
  LogPage,
  NotFound,
  Referrers,
  TopParams,
  TrafficSummary,
  TrafficSummaryParams,
  TrafficTimeseries,
  TrafficTimeseriesParams,
  UserAgents,
  Visitors,
} from './intent-types.js';

export type { ApiResponse } from './api-client.js';

export interface ChatbotClientOptions extends RetryTiming {
  /** The API's invoke URL (…/prod/chatbot); default the CHATBOT_API_URL environment variable. */
  url?: string;
  /** The API key sent as x-api-key; default the CHATBOT_API_KEY environment variable. */
  apiKey?: string;
  /** How long one attempt may take, in ms (default 35,000: past API Gateway's 29 s integration timeout, so its 504 arrives first). */
  timeoutMs?: number;
  /** How many times a 429 or 5xx answer is retried (default 2; 0 turns retries off). */
  retries?: number;
  /** Where CHATBOT_API_URL / CHATBOT_API_KEY are read; default process.env. */
  env?: Record<string, string | undefined>;
}

/** Per-call options. */
export interface RequestOptions {
  /** Overrides the client's retries for this call. */
  retries?: number;
  /** Cancels the call (and any wait between retries still to come). */
  signal?: AbortSignal;
}

/** A raw request: as RequestOptions, and `apiKey` to send another key, or null for no x-api-key header. */
export interface SendOptions extends RequestOptions {
  apiKey?: string | null;
}

/** A successful answer with what came with it. */
export interface IntentAnswer<T> {
  data: T;
  requestId: string | undefined;
  status: number;
  attempts: number;
  ms: number;
}

/**
 * A call that did not give data. `errorCode` is the backend's `error_code` (INVALID_PARAMS,
 * UNAUTHORIZED, ...) when the function answered; for API Gateway's own refusals and for failures
 * on the way it is one of FORBIDDEN, MISSING_AUTHENTICATION_TOKEN, TOO_MANY_REQUESTS,
 * QUOTA_EXCEEDED, GATEWAY_TIMEOUT, HTTP_<status>, INVALID_RESPONSE, NETWORK_ERROR, TIMEOUT, ABORTED.
 * `status` is the HTTP status, 0 when no answer came.
 */
export class ChatbotApiError extends Error {
  override readonly name = 'ChatbotApiError';
  readonly status: number;
  readonly errorCode: string;
  readonly requestId: string | undefined;
  /** How many requests were sent, retries included. */
  readonly attempts: number;
  /** The answer, when there was one (its body never holds the key). */
  readonly response: ApiResponse | undefined;

  constructor(
    message: string,
    details: {
      status: number;
      errorCode: string;
      requestId?: string | undefined;
      attempts?: number;
      response?: ApiResponse;
      cause?: unknown;
    },
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.status = details.status;
    this.errorCode = details.errorCode;
    this.requestId = details.requestId;
    this.attempts = details.attempts ?? 1;
    this.response = details.response;
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The request id to look for in the logs: the function's, else the one in the headers. */
export function requestIdOf(r: ApiResponse): string | undefined {
  const j = r.json;
  if (isRecord(j) && typeof j.request_id === 'string') return j.request_id;
  return r.headers['x-request-id'] ?? r.headers['x-amzn-requestid'];
}

/** API Gateway's refusals carry only {"message"}: give them codes a program can branch on. */
function gatewayCode(status: number, message: string | undefined): string {
  if (status === 403)
    return message === 'Missing Authentication Token' ? 'MISSING_AUTHENTICATION_TOKEN' : 'FORBIDDEN';
  if (status === 429) return message === 'Limit Exceeded' ? 'QUOTA_EXCEEDED' : 'TOO_MANY_REQUESTS';
  if (status === 504) return 'GATEWAY_TIMEOUT';
  return `HTTP_${status}`;
}

/** The error a non-success answer means. */
export function errorFromResponse(r: ApiResponse): ChatbotApiError {
  const j = r.json;
  const requestId = requestIdOf(r);
  const common = { status: r.status, requestId, attempts: r.attempts, response: r };
  if (isRecord(j) && typeof j.error_code === 'string') {
    const text = typeof j.error === 'string' ? j.error : j.error_code;
    return new ChatbotApiError(`${r.status} ${j.error_code}: ${text}`, {
      ...common,
      errorCode: j.error_code,
    });
  }
  if (r.status >= 200 && r.status < 300) {
    return new ChatbotApiError(
      `${r.status} INVALID_RESPONSE: the answer is not the backend's success envelope`,
      {
        ...common,
        errorCode: 'INVALID_RESPONSE',
      },
    );
  }
  const message = isRecord(j) && typeof j.message === 'string' ? j.message : undefined;
  const errorCode = gatewayCode(r.status, message);
  const text = message ?? summarizeBody(r.text);
  return new ChatbotApiError(`${r.status} ${errorCode}: ${text}`, { ...common, errorCode });
}

/** A request that got no answer: refused connection, DNS, timeout, abort. */
function errorFromFailure(err: unknown, url: string): ChatbotApiError {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError')
    return new ChatbotApiError(`no answer from ${url} in time`, {
      status: 0,
      errorCode: 'TIMEOUT',
      cause: err,
    });
  if (e?.name === 'AbortError')
    return new ChatbotApiError(`the call to ${url} was cancelled`, {
      status: 0,
      errorCode: 'ABORTED',
      cause: err,
    });
  const reason = e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
  return new ChatbotApiError(`could not reach ${url}: ${reason}`, {
    status: 0,
    errorCode: 'NETWORK_ERROR',
    cause: err,
  });
}

const DEFAULT_TIMEOUT_MS = 35_000;
const DEFAULT_RETRIES = 2;

export class ChatbotClient {
  readonly url: string;
  // A private field: never enumerated, serialised or shown by util.inspect, so the key cannot leak
  // through a logged client.
  readonly #apiKey: string;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #timing: RetryTiming;

  constructor(options: ChatbotClientOptions = {}) {
    const env = options.env ?? process.env;
    const url = options.url ?? env.CHATBOT_API_URL;
    const apiKey = options.apiKey ?? env.CHATBOT_API_KEY;
    if (!url) throw new TypeError('ChatbotClient needs the API URL: pass { url } or set CHATBOT_API_URL');
    if (!/^https?:\/\//.test(url))
      throw new TypeError(`ChatbotClient: the URL must be http(s) (got "${url}")`);
    if (!apiKey)
      throw new TypeError('ChatbotClient needs an API key: pass { apiKey } or set CHATBOT_API_KEY');
    const retries = options.retries ?? DEFAULT_RETRIES;
    if (!Number.isInteger(retries) || retries < 0)
      throw new TypeError(`ChatbotClient: retries must be a whole number >= 0 (got ${retries})`);
    this.url = url;
    this.#apiKey = apiKey;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#retries = retries;
    this.#timing = {
      ...(options.sleep ? { sleep: options.sleep } : {}),
      ...(options.random ? { random: options.random } : {}),
    };
  }

  /**
   * POST a body as it is (an object is sent as JSON) and hand back the answer whatever its status.
   * Rejects with ChatbotApiError (status 0) only when no answer came.
   */
  async send(body: unknown, options: SendOptions = {}): Promise<ApiResponse> {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    try {
      return await callApi(this.url, text, {
        apiKey: options.apiKey === undefined ? this.#apiKey : options.apiKey,
        retries: options.retries ?? this.#retries,
        timeoutMs: this.#timeoutMs,
        ...(options.signal ? { signal: options.signal } : {}),
        ...this.#timing,
      });
    } catch (err) {
      throw errorFromFailure(err, this.url);
    }
  }

  /** One intent, with its answer's request id and timing; a failure rejects with ChatbotApiError. */
  async request<I extends IntentName>(
    intent: I,
    params?: Intents[I]['params'],
    options?: RequestOptions,
  ): Promise<IntentAnswer<Intents[I]['data']>>;
  async request(
    intent: string,
    params?: Record<string, unknown>,
    options?: RequestOptions,
  ): Promise<IntentAnswer<Record<string, unknown>>>;
  async request(
    intent: string,
    params: object = {},
    options: RequestOptions = {},
  ): Promise<IntentAnswer<Record<string, unknown>>> {
    const r = await this.send({ intent, params }, options);
    const j = r.json;
    if (r.status !== 200 || !isRecord(j) || j.success !== true || !isRecord(j.data))
      throw errorFromResponse(r);
    return { data: j.data, requestId: requestIdOf(r), status: r.status, attempts: r.attempts, ms: r.ms };
  }

  /** One intent's data; also for intents newer than this client (typed as a plain record). */
  async call<I extends IntentName>(
    intent: I,
    params?: Intents[I]['params'],
    options?: RequestOptions,
  ): Promise<Intents[I]['data']>;
  async call(
    intent: string,
    params?: Record<string, unknown>,
    options?: RequestOptions,
  ): Promise<Record<string, unknown>>;
  async call(
    intent: string,
    params: object = {},
    options: RequestOptions = {},
  ): Promise<Record<string, unknown>> {
    return (await this.request(intent, params as Record<string, unknown>, options)).data;
  }

  /**
   * Every page of a paged intent, following next_cursor until it is null. The backend binds a cursor
   * to the intent and its filters and keeps the first page's window, so the pages neither repeat nor
   * miss a row while new rows arrive.
   */
  async *pages(
    intent: 'get_access_logs' | 'get_error_logs',
    params: ErrorLogParams = {},
    options: RequestOptions = {},
  ): AsyncGenerator<LogPage> {
    let cursor = params.cursor;
    do {
      const page = (await this.call(
        intent,
        { ...params, ...(cursor ? { cursor } : {}) },
        options,
      )) as LogPage;
      yield page;
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
  }

  getTrafficSummary(params: TrafficSummaryParams = {}, options?: RequestOptions): Promise<TrafficSummary> {
    return this.call('get_traffic_summary', params, options);
  }

  /** One page of log entries; see accessLogs() to iterate over all of them. */
  getAccessLogs(params: LogFilterParams = {}, options?: RequestOptions): Promise<LogPage> {
    return this.call('get_access_logs', params, options);
  }

  /** Every log entry of the query, newest first, page after page (`limit` sets the page size). */
  async *accessLogs(params: LogFilterParams = {}, options?: RequestOptions): AsyncGenerator<LogEntry> {
    for await (const page of this.pages('get_access_logs', params, options)) yield* page.logs;
  }

  getErrorLogs(params: ErrorLogParams = {}, options?: RequestOptions): Promise<LogPage> {
    return this.call('get_error_logs', params, options);
  }

  /** Every error entry of the query, newest first, page after page. */
  async *errorLogs(params: ErrorLogParams = {}, options?: RequestOptions): AsyncGenerator<LogEntry> {
    for await (const page of this.pages('get_error_logs', params, options)) yield* page.logs;
  }

  getIpActivity(params: IpActivityParams, options?: RequestOptions): Promise<IpActivity> {
    return this.call('get_ip_activity', params, options);
  }

  getEndpointStats(params: EndpointStatsParams = {}, options?: RequestOptions): Promise<EndpointStats> {
    return this.call('get_endpoint_stats', params, options);
  }

  getTrafficTimeseries(
    params: TrafficTimeseriesParams = {},
    options?: RequestOptions,
  ): Promise<TrafficTimeseries> {
    return this.call('get_traffic_timeseries', params, options);
  }

  getVisitors(params: CountParams = {}, options?: RequestOptions): Promise<Visitors> {
    return this.call('get_visitors', params, options);
  }

  getNotFound(params: TopParams = {}, options?: RequestOptions): Promise<NotFound> {
    return this.call('get_not_found', params, options);
  }

  getReferrers(params: TopParams = {}, options?: RequestOptions): Promise<Referrers> {
    return this.call('get_referrers', params, options);
  }

  getUserAgents(params: TopParams = {}, options?: RequestOptions): Promise<UserAgents> {
    return this.call('get_user_agents', params, options);
  }

  getBandwidth(params: BandwidthParams = {}, options?: RequestOptions): Promise<Bandwidth> {
    return this.call('get_bandwidth', params, options);
  }

  health(options?: RequestOptions): Promise<Health> {
    return this.call('health', {}, options);
  }

  /** Every intent the backend answers, with its parameters (what the MCP tools are made from). */
  listIntents(options?: RequestOptions): Promise<IntentList> {
    return this.call('list_intents', {}, options);
  }
}
