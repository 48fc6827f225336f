/**
 * `chatbot-ops invoke <intent>` (guide step 7, "Test the API"): one request to the chatbot API (deployed,
 * local, any URL, or the function directly), answered as a table or key/value lines, or the body with --json.
 */
import { readFileSync } from 'node:fs';
import { describeCommand } from '../cli/catalog.js';
import type { CommandModule, Context, GlobalOptions } from '../cli/context.js';
import { invokedAs } from '../cli/invoked-as.js';
import { type ApiResponse, isRetryable, type RetryTiming, withRetries } from '../client/api-client.js';
import { ChatbotClient } from '../client/chatbot-client.js';
import { explainFailure } from '../client/explain.js';
import { renderData } from '../client/render.js';
import { type BodyFlags, buildRequestBody } from '../client/request-body.js';
import {
  addTargetOptions,
  resolveTarget,
  retriesFrom,
  retryOption,
  type TargetFlags,
} from '../client/resolve-target.js';
import type { ApiTarget } from '../client/target.js';
import { UsageError, UserError } from '../errors.js';

export interface InvokeFlags extends BodyFlags, TargetFlags {
  body?: string;
  direct?: boolean;
  retry?: string;
}

const shellQuote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** Global options that choose the deployment, repeated before the command. */
const REPEATED_GLOBALS: [keyof GlobalOptions, string][] = [
  ['config', '--config'],
  ['region', '--region'],
  ['profile', '--profile'],
  ['endpointUrl', '--endpoint-url'],
];

/**
 * The command that fetches the next page: the same request with --cursor, against the same deployment
 * (the global options that chose it). Relative times are repeated as the absolute times this request
 * used, so the next page reads the same window. The key is never repeated.
 */
export function continuationCommand(
  intent: string,
  flags: InvokeFlags,
  params: Record<string, unknown>,
  cursor: string,
  globals: Partial<GlobalOptions> = {},
  cli = 'chatbot-ops',
): string {
  const parts = [cli];
  for (const [key, flag] of REPEATED_GLOBALS) {
    const v = globals[key];
    if (typeof v === 'string') parts.push(flag, shellQuote(v));
  }
  parts.push('invoke', intent);
  const resolved: InvokeFlags = {
    ...flags,
    ...(typeof params.start_time === 'string' ? { since: params.start_time } : {}),
    ...(typeof params.end_time === 'string' ? { until: params.end_time } : {}),
  };
  for (const [key, flag] of REPEATED_FLAGS) {
    const v = resolved[key];
    if (v === true) parts.push(flag);
    else if (typeof v === 'string') parts.push(flag, shellQuote(v));
  }
  for (const p of flags.param ?? []) parts.push('--param', shellQuote(p));
  parts.push('--cursor', shellQuote(cursor));
  return parts.join(' ');
}

/** What invokeAction reads from the outside world; tests replace the clock, the waits and stdin. */
export interface InvokeDeps extends RetryTiming {
  now?: () => Date;
  readStdin?: () => string;
}

function readBodyFlag(file: string, readStdin: () => string): string {
  try {
    return file === '-' ? readStdin() : readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(
      `cannot read the body from ${file === '-' ? 'standard input' : file}: ${(err as Error).message}`,
      { exitCode: 2, hint: '--body takes a file holding the JSON request body, or - for standard input.' },
    );
  }
}

/** Flags that build the body; --body sends its file as it is, so they cannot go with it. */
const BODY_SHAPING_FLAGS: [keyof BodyFlags, string][] = [
  ['ip', '--ip'],
  ['endpoint', '--endpoint'],
  ['status', '--status'],
  ['limit', '--limit'],
  ['hours', '--hours'],
  ['since', '--since'],
  ['until', '--until'],
  ['cursor', '--cursor'],
  ['allTime', '--all-time'],
];

/**
 * Flags that shape the request and choose the target, in the order the continuation command
 * repeats them (the cursor it gets anew).
 */
const REPEATED_FLAGS: [keyof InvokeFlags, string][] = [
  ...BODY_SHAPING_FLAGS.filter(([key]) => key !== 'cursor'),
  ['local', '--local'],
  ['url', '--url'],
  ['direct', '--direct'],
];

function requestBodyText(
  intent: string | undefined,
  flags: InvokeFlags,
  deps: InvokeDeps,
): { text: string; params?: Record<string, unknown> } {
  if (flags.body === undefined) {
    if (intent === undefined) {
      throw new UsageError(
        'name an intent (e.g. `invoke get_traffic_summary`) or pass --body FILE',
        'List them with `chatbot-ops invoke list_intents`.',
      );
    }
    const built = buildRequestBody(intent, flags, (deps.now ?? (() => new Date()))());
    return { text: JSON.stringify(built), params: built.params };
  }
  const extra = [
    ...(intent !== undefined ? [`the intent ${intent}`] : []),
    ...BODY_SHAPING_FLAGS.filter(([k]) => flags[k] !== undefined && flags[k] !== false).map(([, f]) => f),
    ...((flags.param ?? []).length > 0 ? ['--param'] : []),
  ];
  if (extra.length > 0) {
    throw new UsageError(
      `--body sends the file as it is; it cannot be combined with ${extra.join(', ')}`,
      'Put the intent and its params in the file, or leave out --body.',
    );
  }
  return { text: readBodyFlag(flags.body, deps.readStdin ?? (() => readFileSync(0, 'utf8'))) };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** No answer came (ChatbotClient says why: refused, timed out, ...). */
function networkError(err: unknown, target: ApiTarget): UserError {
  return new UserError((err as Error).message, {
    hint:
      target.source === 'local'
        ? 'Is the local stack still running? `chatbot-ops local status` tells.'
        : 'Check the URL and your network; `chatbot-ops status` shows the deployed invoke URL.',
    cause: err,
  });
}

/**
 * Lambda Invoke with the body as the event, shaped like an HTTP answer. No API Gateway: no key, no
 * usage plan; `--retry` retries the function's 5xx answers (the SDK itself retries Lambda's throttling).
 */
async function sendDirect(
  ctx: Context,
  bodyText: string,
  retries: number,
  deps: InvokeDeps,
): Promise<{ response: ApiResponse; target: ApiTarget }> {
  const event = parseJson(bodyText);
  if (event === undefined) throw new UsageError('--direct needs a JSON body: the event is the body itself');
  const functionName = ctx.config().function.name;
  ctx.ui.debug(`Lambda Invoke ${functionName} (RequestResponse), event: ${bodyText}`);
  // Loaded only here: the Lambda client costs time that --local and --url never need.
  const { invokeFunction } = await import('../aws/lambda.js');
  const started = performance.now();
  const { answer: out, attempts } = await withRetries(
    () => invokeFunction(ctx.aws().lambda, functionName, event),
    (o) => o.functionError === undefined && isRetryable(o.statusCode),
    retries,
    deps,
  );
  if (out.functionError) {
    throw new UserError(
      `the function ${functionName} failed (${out.functionError})${out.requestId ? ` [request id ${out.requestId}]` : ''}`,
      { ...(out.requestId ? { hint: `See its log: chatbot-ops logs --filter ${out.requestId}` } : {}) },
    );
  }
  return {
    target: { url: `the Lambda function ${functionName} (direct)`, apiKey: '', source: 'aws', functionName },
    response: {
      status: out.statusCode,
      headers: out.requestId ? { 'x-amzn-requestid': out.requestId } : {},
      text: out.body,
      json: parseJson(out.body),
      ms: Math.round(performance.now() - started),
      attempts,
    },
  };
}

/** Send the request where the flags say: the function directly, or an API (deployed, local, --url). */
async function send(
  ctx: Context,
  flags: InvokeFlags,
  bodyText: string,
  deps: InvokeDeps,
): Promise<{ response: ApiResponse; target: ApiTarget }> {
  const retries = retriesFrom(flags.retry, 0);
  if (flags.direct) return sendDirect(ctx, bodyText, retries, deps);
  const target = await resolveTarget(ctx, flags);
  const keyFrom = { aws: 'read from API Gateway', local: 'of the local stack', url: 'given' }[target.source];
  ctx.ui.debug(`POST ${target.url} (x-api-key ${keyFrom}, not shown)`);
  ctx.ui.debug(`body: ${bodyText}`);
  const client = new ChatbotClient({
    url: target.url,
    apiKey: target.apiKey,
    retries,
    ...(deps.sleep ? { sleep: deps.sleep } : {}),
    ...(deps.random ? { random: deps.random } : {}),
  });
  const response = await client.send(bodyText).catch((err: unknown) => {
    throw networkError(err, target);
  });
  return { response, target };
}

/**
 * Validate every flag, build the body, send it, then print: the answer for people (tables, key/value,
 * the next-page command) or, with --json, the response body; a failure explained on stderr, exit 1.
 */
export async function invokeAction(
  ctx: Context,
  intent: string | undefined,
  flags: InvokeFlags,
  deps: InvokeDeps = {},
): Promise<number> {
  if (flags.direct && (flags.local || flags.url !== undefined))
    throw new UsageError('--direct calls the deployed function; it cannot be combined with --local or --url');
  if (flags.direct && flags.apiKey !== undefined)
    throw new UsageError('--direct needs no API key: IAM authorises a direct invocation');
  retriesFrom(flags.retry, 0);
  const body = requestBodyText(intent, flags, deps);

  const { response, target } = await send(ctx, flags, body.text, deps);
  const ok = response.status >= 200 && response.status < 300;
  // --json prints the body byte for byte when it is JSON; anything else (a proxy's HTML page) as
  // {status, body}, so stdout always holds one JSON document.
  if (response.json !== undefined) ctx.ui.resultText(response.text);
  else ctx.ui.result({ status: response.status, body: response.text });
  const attempts = response.attempts > 1 ? `after ${response.attempts} attempts` : undefined;
  if (!ok) {
    const why = explainFailure(response, target);
    ctx.ui.warn(why.message);
    if (why.hint) ctx.ui.warn(`  ${why.hint}`);
    if (attempts) ctx.ui.warn(`  (${attempts})`);
    return 1;
  }
  const envelope = response.json as { data?: unknown; request_id?: string } | undefined;
  const data = envelope?.data;
  for (const line of renderData(data ?? response.json)) ctx.ui.info(line);
  const cursor = (data as { next_cursor?: unknown } | undefined)?.next_cursor;
  if (typeof cursor === 'string' && cursor !== '') {
    ctx.ui.info('');
    // A --body request has no flags to repeat: the cursor goes into the file's params.
    ctx.ui.info(
      intent === undefined
        ? `More: put "cursor": "${cursor}" in the params of the body for the next page`
        : `More: ${continuationCommand(intent, flags, body.params ?? {}, cursor, ctx.options, invokedAs())}`,
    );
  }
  const footer = [
    `${response.status} in ${response.ms} ms`,
    ...(attempts ? [attempts] : []),
    ...(envelope?.request_id ? [`request id ${envelope.request_id}`] : []),
  ];
  ctx.ui.info(ctx.ui.style.dim(footer.join(', ')));
  return 0;
}

export const register: CommandModule = (program, run) => {
  const command = program
    .command('invoke')
    .description(describeCommand('invoke'))
    .argument(
      '[intent]',
      'get_traffic_summary, get_access_logs, get_error_logs, get_ip_activity, get_endpoint_stats, get_traffic_timeseries, get_visitors, get_not_found, get_referrers, get_user_agents, get_bandwidth, health, list_intents',
    )
    .option('--ip <address>', 'ip_address')
    .option('--endpoint <path>', 'endpoint (exact path; end it with * for a prefix)')
    .option('--status <code>', 'status_code')
    .option('--limit <n>', 'limit')
    .option('--hours <n>', 'the last N hours')
    .option('--since <time>', 'start_time: ISO 8601 or a duration ago (30m, 2h, 7d)')
    .option('--until <time>', 'end_time: ISO 8601 or a duration ago')
    .option('--cursor <cursor>', 'next_cursor of a previous answer')
    .option('--all-time', 'no time window')
    .option(
      '--param <key=value>',
      'any other parameter (repeatable; numbers and booleans typed)',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option('--body <file>', 'send this raw JSON body (- for standard input) instead of building one');
  addTargetOptions(command)
    .option('--direct', 'invoke the Lambda function itself, without API Gateway')
    .option(...retryOption(0))
    .action(
      run(async (ctx, intent: string | undefined, flags: InvokeFlags) => invokeAction(ctx, intent, flags)),
    );
};
