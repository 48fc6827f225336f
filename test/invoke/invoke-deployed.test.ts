import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetApiKeysCommand,
  GetRestApisCommand,
  GetStageCommand,
  GetUsagePlanKeysCommand,
  GetUsagePlansCommand,
} from '@aws-sdk/client-api-gateway';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAwsClients } from '../../src/aws/clients.js';
import { makeContext } from '../../src/cli/context.js';
import { main } from '../../src/cli/main.js';
import { recordingUi } from '../../src/cli/ui.js';
import { type InvokeFlags, invokeAction } from '../../src/commands/invoke.js';
import {
  API_ID,
  FUNCTION_NAME,
  freshWorld,
  HEALTHY_RESPONSE,
  invokeAnswer,
  KEY_VALUE,
  mocks,
  PLAN_ID,
  type World,
  writeConfig,
} from '../ops/fixtures/deployment.js';
import { spawnCli } from '../support/cli-process.js';
import { type ApiStandIn, backendAnswer, REQUEST_ID, startApiStandIn } from './api-stand-in.js';

let api: ApiStandIn;
let world: World;
let config: string;

beforeAll(async () => {
  for (const v of ['CHATBOT_API_URL', 'CHATBOT_API_KEY', 'AWS_ENDPOINT_URL']) delete process.env[v];
  api = await startApiStandIn(API_ID, KEY_VALUE);
  config = writeConfig();
});
afterAll(() => api.close());

beforeEach(() => {
  world = freshWorld(); // Date fixed at 2026-11-29T12:00:00Z
  api.seen.length = 0;
  api.script.length = 0;
  api.keys = new Set([KEY_VALUE]);
  api.keyOptional = false;
});
afterEach(() => vi.useRealTimers());

/** The real CLI, in-process, with the deployment's config and the stand-in as the AWS endpoint. */
async function cli(...argv: string[]) {
  const ui = recordingUi({ json: argv.includes('--json') });
  const code = await main(
    ['node', 'chatbot-ops', '--config', config, '--endpoint-url', api.origin, ...argv],
    { ui },
  );
  return { code, ui, out: ui.out.join('\n'), err: ui.err.join('\n') };
}

const awsCalls = () => Object.values(mocks).reduce((n, m) => n + m.calls().length, 0);
const sentBody = (i = 0) => JSON.parse(api.seen[i]?.body ?? 'null') as unknown;

describe('invoke against the deployed API', () => {
  it('reads the invoke URL and the key value from API Gateway and sends the request body with x-api-key', async () => {
    // Act
    const { code, out, err } = await cli('invoke', 'get_access_logs', '--ip', '192.168.1.1');
    // Assess: the lookups, with their exact inputs
    expect(code).toBe(0);
    const input = (c: Parameters<typeof mocks.apigateway.commandCalls>[0]) =>
      mocks.apigateway.commandCalls(c).map((call) => call.args[0].input);
    expect(input(GetRestApisCommand)).toEqual([{ limit: 500 }]);
    expect(input(GetStageCommand)).toEqual([{ restApiId: API_ID, stageName: 'prod' }]);
    expect(input(GetUsagePlansCommand)).toEqual([{ limit: 500 }]);
    expect(input(GetUsagePlanKeysCommand)).toEqual([{ usagePlanId: PLAN_ID, limit: 500 }]);
    expect(input(GetApiKeysCommand)).toEqual([
      { nameQuery: 'chatbot-api-key', includeValues: true, limit: 500 },
    ]);
    // ...and the one request, to the URL built from the API id, with the key the user never copied
    expect(api.seen).toHaveLength(1);
    expect(api.seen[0]).toMatchObject({
      method: 'POST',
      path: `/restapis/${API_ID}/prod/_user_request_/chatbot`,
      headers: { 'x-api-key': KEY_VALUE, 'content-type': 'application/json' },
    });
    expect(sentBody()).toEqual({ intent: 'get_access_logs', params: { ip_address: '192.168.1.1' } });
    // The key value is a secret: never in the output.
    expect(`${out}\n${err}`).not.toContain(KEY_VALUE);
  });

  it('shows the request with --verbose, never the key', async () => {
    const ui = recordingUi({ verbose: true });

    const code = await main(
      [
        'node',
        'chatbot-ops',
        '--config',
        config,
        '--endpoint-url',
        api.origin,
        'invoke',
        'health',
        '--verbose',
      ],
      { ui },
    );

    expect(code).toBe(0);
    expect(ui.err).toEqual([
      `POST ${api.url} (x-api-key read from API Gateway, not shown)`,
      'body: {"intent":"health","params":{}}',
    ]);
    expect([...ui.out, ...ui.err].join('\n')).not.toContain(KEY_VALUE);
  });

  it('shows log entries as a table and the command that fetches the next page', async () => {
    const { code, ui } = await cli('invoke', 'get_access_logs', '--ip', '192.168.1.1', '--limit', '2');

    expect(code).toBe(0);
    const header = ui.out.indexOf(
      '  timestamp                 ip_address   method  status_code  endpoint    response_time_ms  bytes_sent',
    );
    expect(header).toBeGreaterThan(-1);
    expect(ui.out.slice(header + 2, header + 4)).toEqual([
      '  2026-11-29T11:58:00.123Z  192.168.1.1  GET             200  /api/users                35         512',
      '  2026-11-29T11:58:00.123Z  192.168.1.1  GET             404  /missing                  35         512',
    ]);
    expect(ui.out).toContain('count:   2');
    // The same deployment (config, endpoint) and request, from the cursor on.
    expect(ui.out).toContain(
      `More: chatbot-ops --config ${config} --endpoint-url ${api.origin} invoke get_access_logs --ip 192.168.1.1 --limit 2 --cursor eyJ0IjoxfQ.c2ln`,
    );
    expect(ui.out.at(-1)).toMatch(new RegExp(`^200 in \\d+ ms, request id ${REQUEST_ID}$`));
  });

  it('shows a summary as aligned key/value lines', async () => {
    const { code, ui } = await cli('invoke', 'get_traffic_summary');

    expect(code).toBe(0);
    expect(ui.out.slice(0, 4)).toEqual([
      'window:          2026-11-28T12:00:00.000Z → 2026-11-29T12:00:00.000Z',
      'total_requests:  1234',
      'error_count:     56',
      'error_rate:      4.54%',
    ]);
    expect(ui.out).toEqual(
      expect.arrayContaining(['top_endpoints:', '  /api/users:  700', '  /login:      34', '  5xx:  6']),
    );
  });

  it('prints the response body and nothing else with --json', async () => {
    const { code, out, ui } = await cli('invoke', 'get_access_logs', '--json');

    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual(backendAnswer(api.seen[0]?.body ?? '').body);
    expect(ui.out).toHaveLength(1);
  });

  it('--json prints the body byte for byte, not re-encoded', async () => {
    const raw = '{"request_id":"r-1", "success":true,"data":{"n":1.50,"s":"\\u00e9"}}';
    api.script.push({ status: 200, body: raw });

    const { code, out } = await cli('invoke', 'health', '--json');

    expect(code).toBe(0);
    expect(out).toBe(raw);
  });

  it.each<[string, string[], Record<string, unknown>]>([
    ['--ip', ['--ip', '10.1.2.3'], { ip_address: '10.1.2.3' }],
    ['--endpoint', ['--endpoint', '/api/users'], { endpoint: '/api/users' }],
    ['--endpoint with *', ['--endpoint', '/api/*'], { endpoint_prefix: '/api/' }],
    ['--status', ['--status', '404'], { status_code: 404 }],
    ['--limit', ['--limit', '20'], { limit: 20 }],
    ['--hours', ['--hours', '6'], { hours: 6 }],
    ['--since (duration)', ['--since', '2h'], { start_time: '2026-11-29T10:00:00.000Z' }],
    ['--since (ISO)', ['--since', '2026-11-01T00:00:00Z'], { start_time: '2026-11-01T00:00:00Z' }],
    ['--until', ['--until', '30m'], { end_time: '2026-11-29T11:30:00.000Z' }],
    ['--cursor', ['--cursor', 'abc.def'], { cursor: 'abc.def' }],
    ['--all-time', ['--all-time'], { all_time: true }],
    [
      '--param typed',
      [
        '--param',
        'top_n=10',
        '--param',
        'min_status=500',
        '--param',
        'ratio=0.5',
        '--param',
        'all_time=false',
        '--param',
        'method=GET',
        '--param',
        'code="404"',
        '--param',
        'referrer=null',
      ],
      { top_n: 10, min_status: 500, ratio: 0.5, all_time: false, method: 'GET', code: '404', referrer: null },
    ],
  ])('maps %s to its parameter', async (_flag, argv, params) => {
    const { code } = await cli('invoke', 'get_error_logs', ...argv);

    expect(code).toBe(0);
    expect(sentBody()).toEqual({ intent: 'get_error_logs', params });
  });

  it('sends a --body file exactly as written, intent and all', async () => {
    // Prepare: spacing and key order a rebuilt body would not keep
    const file = join(mkdtempSync(join(tmpdir(), 'invoke-body-')), 'body.json');
    const raw = '{ "params": {"top_n": 3},\n  "intent": "get_traffic_summary" }\n';
    writeFileSync(file, raw);
    // Act
    const { code } = await cli('invoke', '--body', file);
    // Assess
    expect(code).toBe(0);
    expect(api.seen.map((r) => r.body)).toEqual([raw]);
  });

  it('tells how to fetch the next page of a --body request', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'invoke-body-')), 'body.json');
    writeFileSync(file, '{"intent":"get_access_logs","params":{"limit":2}}');

    const { code, ui } = await cli('invoke', '--body', file);

    expect(code).toBe(0);
    expect(ui.out).toContain(
      'More: put "cursor": "eyJ0IjoxfQ.c2ln" in the params of the body for the next page',
    );
  });

  it('reads --body - from standard input', async () => {
    const ui = recordingUi();
    const ctx = makeContext(
      { config, endpointUrl: api.origin, json: false, yes: false, verbose: false },
      ui,
      { awsFactory: createAwsClients },
    );

    const code = await invokeAction(ctx, undefined, { body: '-', param: [] } as InvokeFlags, {
      readStdin: () => '{"intent":"health"}',
    });

    expect(code).toBe(0);
    expect(api.seen.map((r) => r.body)).toEqual(['{"intent":"health"}']);
    expect(ui.out).toContain('status:  ok');
  });

  it('reads --body - from the real standard input of the command', async () => {
    // Prepare: the CLI as a user runs it, its stdin a pipe
    const { child, output, exited } = spawnCli(
      ['invoke', '--body', '-', '--url', api.url, '--api-key', KEY_VALUE, '--json'],
      { stdin: 'pipe', timeoutMs: 30_000 },
    );
    // Act
    child.stdin?.end('{"intent": "health"}');
    const { code } = await exited;
    const { stdout } = output;
    // Assess
    expect(code).toBe(0);
    expect(api.seen.map((r) => r.body)).toEqual(['{"intent": "health"}']);
    expect(JSON.parse(stdout)).toMatchObject({ success: true, data: { status: 'ok' } });
  }, 30_000);

  it('uses --api-key instead of the key in API Gateway, without reading key values', async () => {
    api.keys.add('another-key-of-the-plan');

    const { code } = await cli('invoke', 'health', '--api-key', 'another-key-of-the-plan');

    expect(code).toBe(0);
    expect(api.seen[0]?.headers['x-api-key']).toBe('another-key-of-the-plan');
    expect(mocks.apigateway.commandCalls(GetApiKeysCommand)).toHaveLength(0);
  });

  it('calls --url with --api-key without asking AWS anything', async () => {
    const { code, ui } = await cli('invoke', 'health', '--url', api.url, '--api-key', KEY_VALUE);

    expect(code).toBe(0);
    expect(ui.out).toContain('status:  ok');
    expect(api.seen[0]?.headers['x-api-key']).toBe(KEY_VALUE);
    expect(awsCalls()).toBe(0);
  });
});

describe('invoke with CHATBOT_API_URL and CHATBOT_API_KEY', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('calls that API with that key, as --url and --api-key would', async () => {
    vi.stubEnv('CHATBOT_API_URL', api.url);
    vi.stubEnv('CHATBOT_API_KEY', KEY_VALUE);

    const { code } = await cli('invoke', 'health');

    expect(code).toBe(0);
    expect(api.seen[0]?.headers['x-api-key']).toBe(KEY_VALUE);
    expect(awsCalls()).toBe(0);
  });
});

describe('invoke explains a failed answer', () => {
  it('an API that cannot be reached, exit 1', async () => {
    // Prepare: a loopback port that was free a moment ago and has nothing listening now
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const url = `http://127.0.0.1:${port}/prod/chatbot`;
    // Act
    const { code, err } = await cli('invoke', 'health', '--url', url, '--api-key', 'k');
    // Assess
    expect(code).toBe(1);
    expect(err).toContain(`Error: could not reach ${url}: ECONNREFUSED`);
  });

  it('403: the key is not on a usage plan of the stage', async () => {
    api.keys = new Set(['some-other-key']);

    const { code, err } = await cli('invoke', 'health');

    expect(code).toBe(1);
    expect(err).toContain(
      '403 Forbidden: API Gateway refused the key sent in x-api-key: it is not an enabled key of a usage plan attached to this stage',
    );
    expect(err).toContain('Run `chatbot-ops doctor`');
  });

  it('403: the usage plan is not attached to the stage', async () => {
    Object.assign(world.usagePlans[0] ?? {}, { apiStages: [] });
    api.keys = new Set(); // what API Gateway then does with every key

    const { code, ui } = await cli('invoke', 'health');

    expect(code).toBe(1);
    expect(ui.err).toEqual([
      '403 Forbidden: API Gateway refused the key: the usage plan chatbot-usage-plan is not attached to this stage, so no key is accepted',
      '  Attach it with `chatbot-ops create-usage-plan` (guide step 6, "Add API Stage").',
    ]);
  });

  it("401: the gateway let the key through, the function's API_KEYS does not hold it", async () => {
    api.script.push({
      status: 401,
      body: { request_id: REQUEST_ID, success: false, error: 'Unauthorized', error_code: 'UNAUTHORIZED' },
    });

    const { code, err } = await cli('invoke', 'health');

    expect(code).toBe(1);
    expect(err).toMatch(/^401 Unauthorized: .*not in the function's API_KEYS/m);
    expect(err).toContain('chatbot-ops create-function');
  });

  it("429 throttled, with the plan's rate and burst read from API Gateway", async () => {
    Object.assign(world.usagePlans[0] ?? {}, { throttle: { rateLimit: 7, burstLimit: 14 } });
    api.script.push({ status: 429, body: { message: 'Too Many Requests' } });

    const { code, err } = await cli('invoke', 'health');

    expect(code).toBe(1);
    expect(err).toContain(
      '429 Too Many Requests: throttled by the usage plan (the plan allows 7 requests/s with bursts of 14)',
    );
    expect(err).toContain('--retry N');
  });

  it("429 over quota, with the plan's quota read from API Gateway", async () => {
    Object.assign(world.usagePlans[0] ?? {}, { quota: { limit: 500, period: 'DAY', offset: 0 } });
    api.script.push({ status: 429, body: { message: 'Limit Exceeded' } });

    const { code, err } = await cli('invoke', 'health');

    expect(code).toBe(1);
    expect(err).toContain(
      '429 Limit Exceeded: the key has used up its usage plan quota (the plan allows 500 requests per day)',
    );
  });

  it('5xx: the request id and the logs command that shows it', async () => {
    api.script.push({
      status: 503,
      body: {
        request_id: REQUEST_ID,
        success: false,
        error: 'the database is unavailable',
        error_code: 'DATABASE_UNAVAILABLE',
      },
    });

    const { code, ui } = await cli('invoke', 'health');

    expect(code).toBe(1);
    expect(ui.err).toEqual([
      `503 the database is unavailable (DATABASE_UNAVAILABLE) [request id ${REQUEST_ID}]`,
      `  See the function's log for it: chatbot-ops logs --filter ${REQUEST_ID}`,
    ]);
  });

  it('5xx from API Gateway itself: its request id', async () => {
    api.script.push({ status: 502, body: { message: 'Internal server error' } });

    const { err } = await cli('invoke', 'health');

    expect(err).toContain('502 Internal server error [request id gw-req-0001]');
    expect(err).toContain('chatbot-ops logs --filter gw-req-0001');
  });

  it('--json still prints the error body on stdout, the explanation on stderr', async () => {
    api.script.push({ status: 429, body: { message: 'Too Many Requests' } });

    const { code, out, err } = await cli('invoke', 'health', '--json');

    expect(code).toBe(1);
    expect(JSON.parse(out)).toEqual({ message: 'Too Many Requests' });
    expect(err).toMatch(/^429 Too Many Requests/);
  });
});

describe('invoke --retry', () => {
  /** invokeAction with a recording sleep: backoff is observed, never waited for. */
  async function invokeWithRetries(flags: Partial<InvokeFlags>, random = () => 0.5) {
    const ui = recordingUi();
    const ctx = makeContext(
      { config, endpointUrl: api.origin, json: false, yes: false, verbose: false },
      ui,
      { awsFactory: createAwsClients },
    );
    const waits: number[] = [];
    const code = await invokeAction(ctx, 'health', { param: [], ...flags } as InvokeFlags, {
      sleep: async (ms) => void waits.push(ms),
      random,
    });
    return { code, ui, waits };
  }
  const busy = { status: 429, body: { message: 'Too Many Requests' } };
  const down = { status: 503, body: { success: false, error: 'down', error_code: 'DATABASE_UNAVAILABLE' } };

  it('does not retry without --retry', async () => {
    api.script.push(busy);

    const { code, waits } = await invokeWithRetries({});

    expect([code, api.seen.length, waits]).toEqual([1, 1, []]);
  });

  it('retries 429 and 5xx with exponential backoff until an answer succeeds', async () => {
    api.script.push(busy, down, busy);

    const { code, ui, waits } = await invokeWithRetries({ retry: '5' });

    expect(code).toBe(0);
    expect(api.seen).toHaveLength(4);
    // Half of a cap that doubles: 400, 800, 1600 ms.
    expect(waits).toEqual([200, 400, 800]);
    expect(ui.out.at(-1)).toMatch(/^200 in \d+ ms, after 4 attempts, request id /);
  });

  it('jitters: each wait is a random fraction of its cap', async () => {
    api.script.push(busy, busy);

    const { waits } = await invokeWithRetries({ retry: '2' }, () => 0.1);

    expect(waits).toEqual([40, 80]);
  });

  it('stops after N retries and explains the last answer', async () => {
    api.script.push(down, down, down);

    const { code, ui, waits } = await invokeWithRetries({ retry: '2' });

    expect(code).toBe(1);
    expect(api.seen).toHaveLength(3);
    expect(waits).toHaveLength(2);
    expect(ui.err).toContain('  (after 3 attempts)');
  });

  it('never retries a 4xx other than 429', async () => {
    api.script.push({ status: 400, body: { success: false, error: 'x', error_code: 'INVALID_PARAMS' } });

    const { code, waits } = await invokeWithRetries({ retry: '3' });

    expect([code, api.seen.length, waits]).toEqual([1, 1, []]);
  });
});

describe('invoke refuses bad input before any request', () => {
  const missingFile = join(tmpdir(), 'chatbot-ops-no-such-body.json');
  it.each<[string, string[], RegExp]>([
    ['a non-numeric --limit', ['get_access_logs', '--limit', 'ten'], /--limit must be a whole number/],
    ['a non-numeric --status', ['get_access_logs', '--status', '4xx'], /--status must be a whole number/],
    [
      'an unreadable --since',
      ['get_access_logs', '--since', 'yesterday'],
      /--since must be an ISO 8601 time/,
    ],
    ['a --param without =', ['get_access_logs', '--param', 'limit'], /--param must look like key=value/],
    ['a --param without a key', ['get_access_logs', '--param', '=5'], /--param must look like key=value/],
    ['a --param with a bad key', ['get_access_logs', '--param', 'a b=5'], /--param must look like key=value/],
    ['a missing --body file', ['--body', missingFile], /cannot read the body from .*no-such-body/],
    ['--body with an intent', ['health', '--body', missingFile], /cannot be combined with the intent health/],
    ['--body with --ip', ['--body', missingFile, '--ip', '1.2.3.4'], /cannot be combined with --ip/],
    ['a non-numeric --retry', ['health', '--retry', 'many'], /--retry must be a whole number from 0 to 10/],
    ['too many retries', ['health', '--retry', '11'], /--retry must be a whole number from 0 to 10/],
    [
      '--all-time with --hours',
      ['get_access_logs', '--all-time', '--hours', '2'],
      /--all-time lifts the time window/,
    ],
    ['--hours with --since', ['get_access_logs', '--hours', '2', '--since', '1h'], /--hours and --since/],
    ['--direct with --local', ['health', '--direct', '--local'], /--direct .* cannot be combined/],
    ['--direct with --api-key', ['health', '--direct', '--api-key', 'k'], /--direct needs no API key/],
    [
      '--url that is not http',
      ['health', '--url', 'ftp://x/prod/chatbot', '--api-key', 'k'],
      /--url must be/,
    ],
    ['--url without a key', ['health', '--url', 'http://127.0.0.1:9/prod/chatbot'], /--api-key/],
    ['no intent', [], /name an intent/],
  ])('%s', async (_what, argv, message) => {
    const { code, err } = await cli('invoke', ...argv);

    expect(code).toBe(2);
    expect(err).toMatch(message);
    expect(api.seen).toHaveLength(0);
    expect(awsCalls()).toBe(0);
  });

  it('an unknown flag is bad usage too', async () => {
    const ui = recordingUi();
    const code = await main(['node', 'chatbot-ops', 'invoke', 'health', '--colour'], { ui });

    expect(code).toBe(2);
    expect(api.seen).toHaveLength(0);
    expect(awsCalls()).toBe(0);
  });
});

describe('invoke --direct', () => {
  it('invokes the function through the Lambda API with the body as the event', async () => {
    const { code, ui } = await cli('invoke', 'health', '--direct');

    expect(code).toBe(0);
    expect(mocks.lambda.commandCalls(InvokeCommand).map((c) => c.args[0].input)).toEqual([
      {
        FunctionName: FUNCTION_NAME,
        InvocationType: 'RequestResponse',
        Payload: new TextEncoder().encode('{"intent":"health","params":{}}'),
      },
    ]);
    expect(ui.out).toContain('status:  ok');
    expect(api.seen).toHaveLength(0);
    expect(mocks.apigateway.calls()).toHaveLength(0);
  });

  it("explains the function's 400 answer", async () => {
    const { code, err } = await cli('invoke', 'get_access_logs', '--ip', 'nope', '--direct');

    expect(code).toBe(1);
    expect(err).toMatch(/^400 ip_address: must be an IPv4 or IPv6 address \(INVALID_PARAMS\)$/m);
  });

  it('reports a function that failed, with its request id and the logs command', async () => {
    world.invoke = invokeAnswer(
      { errorType: 'Runtime.ImportModuleError', errorMessage: "Cannot find module 'lambda_function'" },
      { FunctionError: 'Unhandled' },
    );

    const { code, err } = await cli('invoke', 'health', '--direct');

    expect(code).toBe(1);
    expect(err).toContain(
      "the function chatbot-backend failed (Runtime.ImportModuleError: Cannot find module 'lambda_function')",
    );
    expect(err).toContain('chatbot-ops logs --filter 5e1f0a2b-0000-4000-8000-00000000c0de');
  });

  it('retries a 5xx answer with --retry', async () => {
    const unavailable = {
      ...HEALTHY_RESPONSE,
      statusCode: 503,
      body: JSON.stringify({ success: false, error: 'down', error_code: 'DATABASE_UNAVAILABLE' }),
    };
    mocks.lambda
      .on(InvokeCommand)
      .resolvesOnce(invokeAnswer(unavailable) as never)
      .resolves(invokeAnswer(HEALTHY_RESPONSE) as never);
    const ui = recordingUi();
    const ctx = makeContext({ config, json: false, yes: false, verbose: false }, ui, {
      awsFactory: createAwsClients,
    });
    const waits: number[] = [];

    const code = await invokeAction(
      ctx,
      'health',
      { direct: true, retry: '2', param: [] },
      {
        sleep: async (ms) => void waits.push(ms),
        random: () => 0.5,
      },
    );

    expect(code).toBe(0);
    expect(mocks.lambda.commandCalls(InvokeCommand)).toHaveLength(2);
    expect(waits).toEqual([200]);
  });
});

describe('test against the deployed API', () => {
  it('passes every smoke check, one line each with its timing', async () => {
    const { code, ui } = await cli('test');

    expect(code).toBe(0);
    expect(ui.out[0]).toBe(`Testing ${api.url}`);
    expect(ui.out.slice(1).map((l) => l.replace(/\(\d+ ms\)/, '(N ms)'))).toEqual([
      '✔ pass  get_traffic_summary answers 200 with the documented shape (N ms)',
      '✔ pass  health answers 200 with the database reachable (N ms)',
      '✔ pass  no API key is refused with 403 (N ms)',
      '✔ pass  a wrong API key is refused with 401 or 403 (N ms)',
      '✔ pass  an unknown intent answers 400 UNKNOWN_INTENT (N ms)',
      '✔ pass  bad params answer 400 INVALID_PARAMS (N ms)',
      'All 6 checks passed.',
    ]);
    // Each check was one request; only the key checks went without the deployment's key.
    expect(api.seen.map((r) => r.headers['x-api-key'] === KEY_VALUE)).toEqual([
      true,
      true,
      false,
      false,
      true,
      true,
    ]);
    expect(api.seen[2]?.headers['x-api-key']).toBeUndefined();
    expect(mocks.apigateway.commandCalls(GetApiKeysCommand)[0]?.args[0].input).toMatchObject({
      includeValues: true,
    });
  });

  it('fails, exit 1, when a check fails, naming it and what was seen', async () => {
    // Prepare: a summary without its status breakdown
    api.script.push({
      status: 200,
      body: {
        request_id: REQUEST_ID,
        success: true,
        data: { total_requests: 1, error_count: 0, error_rate: 0, top_endpoints: {}, top_ips: {} },
      },
    });
    // Act
    const { code, ui } = await cli('test');
    // Assess
    expect(code).toBe(1);
    const failed = ui.out.findIndex((l) => l.startsWith('✖ fail'));
    expect(ui.out[failed]).toMatch(
      /^✖ fail {2}get_traffic_summary answers 200 with the documented shape \(\d+ ms\)$/,
    );
    expect(ui.out[failed + 1]?.trim()).toBe('data.status_breakdown should be an object');
    expect(ui.out.at(-1)).toBe('1 of 6 checks failed.');
  });

  it('says what to fix when the API answers without a key', async () => {
    api.keyOptional = true;

    const { code, ui } = await cli('test');

    expect(code).toBe(1);
    const failed = ui.out.findIndex((l) => l.startsWith('✖ fail'));
    expect(ui.out[failed]).toMatch(/^✖ fail {2}no API key is refused with 403 \(\d+ ms\)$/);
    expect(ui.out[failed + 1]).toMatch(/^ {8}expected 403, got 200 /);
    expect(ui.out[failed + 2]).toContain('the POST method needs apiKeyRequired');
    expect(ui.out.filter((l) => l.startsWith('✖ fail'))).toHaveLength(1);
  });

  it("explains the 401s when the function's API_KEYS lacks the key", async () => {
    const unauthorized = {
      status: 401,
      body: { request_id: REQUEST_ID, success: false, error: 'Unauthorized', error_code: 'UNAUTHORIZED' },
    };
    api.script.push(unauthorized, unauthorized, unauthorized, unauthorized);

    const { code, out } = await cli('test', '--json');

    expect(code).toBe(1);
    const report = JSON.parse(out) as { checks: { name: string; passed: boolean; hint?: string }[] };
    expect(report.checks.map((c) => c.passed)).toEqual([false, false, true, true, false, false]);
    expect(report.checks[0]?.hint).toMatch(/^401 Unauthorized: .*not in the function's API_KEYS/);
    expect(report.checks[2]).not.toHaveProperty('hint');
  });

  it('reports every check with --json', async () => {
    api.keys.add('chatbotOpsSmokeTestWrongKey0000000000000'); // the gateway now takes a key nobody issued
    api.script.push({ status: 200, body: { request_id: REQUEST_ID, success: true, data: {} } }); // an empty summary

    const { code, out } = await cli('test', '--json');

    expect(code).toBe(1);
    const report = JSON.parse(out) as { url: string; source: string; passed: boolean; checks: unknown[] };
    expect(report).toMatchObject({ url: api.url, source: 'aws', passed: false });
    expect(report.checks).toHaveLength(6);
    expect(report.checks[0]).toEqual({
      name: 'get_traffic_summary answers 200 with the documented shape',
      passed: false,
      ms: expect.any(Number),
      detail: 'data.total_requests should be a number',
    });
    expect(report.checks[3]).toMatchObject({
      passed: false,
      detail: expect.stringMatching(/^expected 401 or 403, got 200/),
    });
  });

  it('says what is missing when there is no deployment, and sends nothing', async () => {
    world.restApis = [];

    const { code, err } = await cli('test');

    expect(code).toBe(1);
    expect(err).toContain('Error: no REST API named chatbot-api in us-east-1');
    expect(api.seen).toHaveLength(0);
  });
});
