/**
 * The HTTP side of `invoke` and `test`: one POST to the chatbot API with the key in x-api-key, and the
 * optional retries (`--retry N`: exponential backoff with full jitter, on 429 and 5xx only).
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

export interface CallOptions {
  /** null sends no x-api-key header at all. */
  apiKey: string | null;
  retries?: number;
  timeoutMs?: number;
  /** Injected in tests so backoff does not wait. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
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

/** POST `body` to `url`. Network failures reject; every HTTP status resolves. */
export async function callApi(url: string, body: string, options: CallOptions): Promise<ApiResponse> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const retries = options.retries ?? 0;
  const started = performance.now();
  for (let attempt = 0; ; attempt++) {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (options.apiKey !== null) headers['x-api-key'] = options.apiKey;
    const res = await fetch(url, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(options.timeoutMs ?? 35_000),
    });
    const text = await res.text();
    if (attempt < retries && isRetryable(res.status)) {
      await sleep(backoffDelayMs(attempt + 1, options.random));
      continue;
    }
    return {
      status: res.status,
      headers: Object.fromEntries(res.headers.entries()),
      text,
      json: parseJson(text),
      ms: Math.round(performance.now() - started),
      attempts: attempt + 1,
    };
  }
}
