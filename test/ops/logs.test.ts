import {
  CloudWatchLogsClient,
  FilterLogEventsCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  FOLLOW_LOOKBACK_MS,
  followLogEvents,
  type LogEvent,
  parseLogLine,
} from '../../src/aws/log-events.js';
import { main } from '../../src/cli/main.js';
import { makeStyle, recordingUi } from '../../src/cli/ui.js';
import { parseSince, renderLogEvent } from '../../src/commands/logs.js';

const logs = mockClient(CloudWatchLogsClient);
const NOW = Date.parse('2026-11-29T12:00:00.000Z');
const RID = '8f2c1a9e-1111-4222-8333-944455556666';

beforeEach(() => {
  logs.reset();
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
});
afterEach(() => vi.useRealTimers());

const event = (id: string, at: string, message: string): LogEvent & { logStreamName: string } => ({
  eventId: id,
  timestamp: Date.parse(at),
  message,
  logStreamName: '2026/11/29/[$LATEST]abc',
});

describe('--since', () => {
  it.each([
    ['30s', NOW - 30_000],
    ['10m', NOW - 600_000],
    ['2h', NOW - 7_200_000],
    ['1d', NOW - 86_400_000],
    ['2026-11-29T11:00:00Z', Date.parse('2026-11-29T11:00:00Z')],
    ['2026-11-29T11:00:00', Date.parse('2026-11-29T11:00:00Z')],
    ['2026-11-29T13:00:00+02:00', Date.parse('2026-11-29T11:00:00Z')],
    ['2026-11-28', Date.parse('2026-11-28T00:00:00Z')],
  ])('reads %s', (text, expected) => {
    expect(parseSince(text, NOW)).toBe(expected);
  });

  it.each([['10'], ['ten minutes'], ['5w'], ['2026-13-45']])('refuses %s', (text) => {
    expect(() => parseSince(text, NOW)).toThrow(/--since must be a duration/);
  });
});

describe('log line rendering', () => {
  const plain = makeStyle(false);

  it.each([
    [
      'a request line from the Node.js runtime with a JSON body',
      `2026-11-29T11:59:58.120Z\t${RID}\tINFO\t{"level":"INFO","request_id":"${RID}","intent":"get_traffic_summary","status":200,"duration_ms":35,"rows":5}\n`,
      `2026-11-29 11:59:58.120 INFO  8f2c1a9e get_traffic_summary 200 35ms rows=5`,
    ],
    [
      'an error line with an error code and message',
      `{"level":"ERROR","requestId":"${RID}","intent":"get_access_logs","statusCode":503,"durationMs":10012,"error_code":"DATABASE_UNAVAILABLE","message":"connect ETIMEDOUT"}`,
      `2026-11-29 11:59:58.120 ERROR 8f2c1a9e get_access_logs 503 10012ms DATABASE_UNAVAILABLE connect ETIMEDOUT`,
    ],
    [
      "Lambda's REPORT line",
      `REPORT RequestId: ${RID}\tDuration: 35.12 ms\tBilled Duration: 36 ms\tMemory Size: 256 MB\tMax Memory Used: 81 MB\t\n`,
      `2026-11-29 11:59:58.120 PLATFORM 8f2c1a9e REPORT RequestId: ${RID}  Duration: 35.12 ms  Billed Duration: 36 ms  Memory Size: 256 MB  Max Memory Used: 81 MB`,
    ],
    [
      'a timeout',
      `2026-11-29T11:59:58.120Z ${RID} Task timed out after 30.03 seconds\n`,
      `2026-11-29 11:59:58.120 ERROR 8f2c1a9e Task timed out after 30.03 seconds`,
    ],
    [
      'plain text from the runtime',
      `2026-11-29T11:59:58.120Z\t${RID}\tWARN\tpool: connection replaced\n`,
      `2026-11-29 11:59:58.120 WARN  8f2c1a9e pool: connection replaced`,
    ],
  ])('renders %s', (_what, message, expected) => {
    const line = renderLogEvent(event('1', '2026-11-29T11:59:58.120Z', message), plain);

    expect(line).toBe(expected);
  });

  it('reads the function object nested in Lambda JSON log format', () => {
    const parsed = parseLogLine(
      JSON.stringify({
        timestamp: '2026-11-29T11:59:58.120Z',
        level: 'INFO',
        requestId: RID,
        message: { intent: 'health', status: 200, duration_ms: 4 },
      }),
    );

    expect(parsed).toMatchObject({
      level: 'INFO',
      requestId: RID,
      fields: { intent: 'health', status: 200 },
    });
  });
});

describe('logs command', () => {
  it('reads every page of the window from the function log group and prints readable lines', async () => {
    logs
      .on(FilterLogEventsCommand)
      .resolvesOnce({
        events: [event('e1', '2026-11-29T11:55:00.000Z', `START RequestId: ${RID} Version: $LATEST\n`)],
        nextToken: 'page-2',
      })
      .resolvesOnce({
        events: [
          event(
            'e2',
            '2026-11-29T11:55:00.040Z',
            `{"level":"INFO","request_id":"${RID}","intent":"health","status":200,"duration_ms":12}`,
          ),
        ],
      });
    const ui = recordingUi();

    const code = await main(
      ['node', 'chatbot-ops', '--region', 'us-east-1', 'logs', '--since', '10m', '--filter', 'ERROR'],
      { ui },
    );

    expect(code).toBe(0);
    const calls = logs.commandCalls(FilterLogEventsCommand).map((c) => c.args[0].input);
    expect(calls).toEqual([
      { logGroupName: '/aws/lambda/chatbot-backend', startTime: NOW - 600_000, filterPattern: 'ERROR' },
      {
        logGroupName: '/aws/lambda/chatbot-backend',
        startTime: NOW - 600_000,
        filterPattern: 'ERROR',
        nextToken: 'page-2',
      },
    ]);
    expect(ui.out).toEqual([
      `2026-11-29 11:55:00.000 PLATFORM 8f2c1a9e START RequestId: ${RID} Version: $LATEST`,
      '2026-11-29 11:55:00.040 INFO  8f2c1a9e health 200 12ms',
    ]);
  });

  it('prints the raw events as one JSON document with --json', async () => {
    const raw = event('e1', '2026-11-29T11:58:00.000Z', 'hello\n');
    logs.on(FilterLogEventsCommand).resolves({ events: [raw] });
    const ui = recordingUi({ json: true });

    const code = await main(['node', 'chatbot-ops', '--json', '--region', 'us-east-1', 'logs'], { ui });

    expect(code).toBe(0);
    expect(ui.results).toEqual([[raw]]);
    expect(JSON.parse(ui.out.join('\n'))).toEqual([raw]);
  });

  it('says clearly when the log group does not exist', async () => {
    logs
      .on(FilterLogEventsCommand)
      .rejects(
        new ResourceNotFoundException({ message: 'The specified log group does not exist.', $metadata: {} }),
      );
    const ui = recordingUi();

    const code = await main(['node', 'chatbot-ops', '--region', 'us-east-1', 'logs'], { ui });

    expect(code).toBe(1);
    expect(ui.err[0]).toBe('Error: the log group /aws/lambda/chatbot-backend does not exist');
    expect(ui.err[1]).toMatch(/Invoke the function once/);
  });

  it('refuses a bad --since before any AWS call', async () => {
    const ui = recordingUi();

    const code = await main(
      ['node', 'chatbot-ops', '--region', 'us-east-1', 'logs', '--since', 'yesterday'],
      { ui },
    );

    expect(code).toBe(2);
    expect(logs.commandCalls(FilterLogEventsCommand)).toHaveLength(0);
  });
});

describe('following', () => {
  it('polls from the newest event minus the look-back and yields each event once until stopped', async () => {
    const a = event('a', '2026-11-29T11:59:00.000Z', 'a');
    const b = event('b', '2026-11-29T11:59:50.000Z', 'b');
    const c = event('c', '2026-11-29T11:59:55.000Z', 'c');
    logs
      .on(FilterLogEventsCommand)
      .resolvesOnce({ events: [a, b] })
      .resolvesOnce({ events: [b] })
      .resolvesOnce({ events: [b, c] });
    const stop = new AbortController();
    let polls = 0;
    const sleep = async () => {
      polls += 1;
      if (polls === 3) stop.abort();
    };
    const batches: string[][] = [];

    for await (const batch of followLogEvents(
      new CloudWatchLogsClient({ region: 'us-east-1' }),
      { logGroupName: '/aws/lambda/chatbot-backend', startTime: NOW - 600_000 },
      { signal: stop.signal, sleep },
    ))
      batches.push(batch.map((e) => e.eventId));

    expect(batches).toEqual([['a', 'b'], ['c']]);
    const starts = logs.commandCalls(FilterLogEventsCommand).map((call) => call.args[0].input.startTime);
    expect(starts).toEqual([
      NOW - 600_000,
      b.timestamp - FOLLOW_LOOKBACK_MS,
      b.timestamp - FOLLOW_LOOKBACK_MS,
    ]);
  });
});
