/**
 * The transport under ChatbotClient (src/client/chatbot-client.ts): one POST to the chatbot API with the
 * key in x-api-key, a timeout per attempt, and retries with exponential backoff and full jitter on 429
 * and 5xx only (a 4xx other than 429 would fail the same way again).
 */

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
  /** The body parsed as JSON, when it is JSON. */
  json: unknown;
  ms: number;
  attempts: number;
}

export interface CallOptions extends RetryTiming {
  /** null sends no x-api-key header at all. */
  apiKey: string | null;
  /** How many times to retry a 429 or 5xx answer (`--retry N`); 0 by default. */
  retries?: number;
  timeoutMs?: number;
  /** Cancels the request and any retry still to come. */
  signal?: AbortSignal;
}

const BACKOFF_BASE_MS = 200;
const BACKOFF_CAP_MS = 10_000;

/** Delay before retry `attempt` (1-based): full jitter over an exponentially growing cap. */
export function backoffDelayMs(attempt: number, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt));
}

export function isRetryable(status: number): boolean {
  return status === 429 || status >= 500;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** How retries wait: injected in tests so backoff never waits for real. */
export interface RetryTiming {
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Run `attempt` once, then again while its answer is retryable and retries remain, waiting
 * backoffDelayMs before each retry. Returns the last answer and how many attempts it took.
 */
export async function withRetries<T>(
  attempt: () => Promise<T>,
  retryable: (answer: T) => boolean,
  retries: number,
  timing: RetryTiming = {},
): Promise<{ answer: T; attempts: number }> {
  const sleep = timing.sleep ?? realSleep;
  for (let n = 1; ; n++) {
    const answer = await attempt();
    if (n > retries || !retryable(answer)) return { answer, attempts: n };
    await sleep(backoffDelayMs(n, timing.random));
  }
}

/** POST `body` to `url`. Network failures reject; every HTTP status resolves. */
export async function callApi(url: string, body: string, options: CallOptions): Promise<ApiResponse> {
  const started = performance.now();
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.apiKey !== null) headers['x-api-key'] = options.apiKey;
  const { answer, attempts } = await withRetries(
    async () => {
      options.signal?.throwIfAborted();
      const timeout = AbortSignal.timeout(options.timeoutMs ?? 35_000);
      const res = await fetch(url, {
        method: 'POST',
        headers,
        body,
        signal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout,
      });
      return { res, text: await res.text() };
    },
    ({ res }) => isRetryable(res.status),
    options.retries ?? 0,
    options,
  );
  return {
    status: answer.res.status,
    headers: Object.fromEntries(answer.res.headers.entries()),
    text: answer.text,
    json: parseJson(answer.text),
    ms: Math.round(performance.now() - started),
    attempts,
  };
}
