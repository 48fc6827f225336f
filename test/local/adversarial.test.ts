/**
 * The adversarial run of issue 16, as a test that can be run again: a real `local up --detach` (the
 * CLI in its own process, a private MariaDB), then
 * - bad input: hundreds of bodies, intents and parameter values (every parameter of every intent),
 *   tampered cursors, wrong keys, methods and paths;
 * - hostile headers and query strings;
 * - malformed HTTP on raw sockets (unknown methods, CONNECT, obs-fold, oversized headers, TLS bytes,
 *   pipelining, half-closed connections);
 * - hostile `db load` files into the stack's database (control bytes, cut lines, junk, bad gzip,
 *   repeats, concurrent and interrupted loads), checked through the stand-in afterwards;
 * - a secrets sweep: the database password and the API key in no answer, no log line and no CLI
 *   output (the key only where `local up` prints it on purpose).
 * Each check that does not hold is collected with what was sent and what came back; the run passes
 * with 0 of them. Requests go to 127.0.0.1 only, a few at a time; the whole run is bounded.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../../src/db/server.js';
import { INTENTS } from '../../src/lambda/intents/index.js';
import { isProcessAlive } from '../../src/local/lifecycle.js';
import { type LocalState, readLocalState } from '../../src/local/state.js';
import { runCli, spawnCli } from '../support/cli-process.js';
import { postWithHeaders, rawExchange, rawRequest } from '../support/raw-http.js';

const ROWS = 2000;
/** Requests in flight at once: enough to overlap, far from the usage plan or the containers' limits. */
const PARALLEL = 4;

let cwd: string;
let state: LocalState;
/** Every check of the current test that did not hold. */
const failures: string[] = [];
beforeEach(() => {
  failures.splice(0);
});
/** Everything that came back or was printed, for the secrets sweep at the end. */
const seen: { where: string; text: string }[] = [];

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runCli(args, { cwd, env: { DB_HOST: '', ...env }, timeoutMs: 240_000 });

interface Case {
  what: string;
  body: string | Buffer;
  headers?: [string, string][];
  /** Appended to the URL (a query string, or a path change through `url`). */
  url?: string;
  /** The statuses this case may answer; default 400. */
  status?: number[];
  /** The function's error_code when it answers 400. */
  code?: string;
}

/** One request through the stand-in and the checks every answer must pass. */
async function check(c: Case): Promise<void> {
  const url = c.url ?? state.gateway.url;
  const headers: [string, string][] = c.headers ?? [
    ['x-api-key', state.apiKey],
    ['content-type', 'application/json'],
  ];
  let r: Awaited<ReturnType<typeof postWithHeaders>>;
  try {
    r = await postWithHeaders(url, headers, c.body);
  } catch (err) {
    failures.push(`${c.what}: no answer (${(err as Error).message})`);
    return;
  }
  seen.push({ where: c.what, text: `${JSON.stringify(r.headers)}\n${r.text}` });
  const expected = c.status ?? [400];
  const problems: string[] = [];
  if (!expected.includes(r.status)) problems.push(`status ${r.status}, expected ${expected.join(' or ')}`);
  if (r.status >= 500) problems.push('a 5xx');
  if (r.headers['content-type'] !== 'application/json')
    problems.push(`content-type ${r.headers['content-type']}`);
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(r.text) as Record<string, unknown>;
  } catch {
    problems.push('body is not JSON');
  }
  if (json && 'success' in json) {
    if (json.success === false && typeof json.error !== 'string') problems.push('no error message');
    if (c.code && r.status === 400 && json.error_code !== c.code)
      problems.push(`error_code ${String(json.error_code)}, expected ${c.code}`);
    // A stack frame, a driver error code or a server address: detail that belongs in the log only.
    if (/\bat \S+ \(|\.[jt]s:\d+|\bER_[A-Z_]+|127\.0\.0\.1:\d+/.test(String(json.error ?? '')))
      problems.push('the message shows internals');
  } else if (json && typeof json.message !== 'string')
    problems.push('neither a function nor a gateway answer');
  if (problems.length > 0) failures.push(`${c.what}: ${problems.join('; ')}: ${r.text.slice(0, 200)}`);
}

/** Run the cases a few at a time. */
async function runAll(cases: Case[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      while (next < cases.length) await check(cases[next++] as Case);
    }),
  );
}

const body = (value: unknown) => JSON.stringify(value);
const ask = (intent: unknown, params?: unknown) =>
  body(params === undefined ? { intent } : { intent, params });

/** Values that are wrong for most parameters, some of them the classic attacks. */
const HOSTILE_VALUES: unknown[] = [
  -1,
  0,
  1.5,
  -0.0001,
  1e21,
  2 ** 53 + 2,
  '',
  ' ',
  'x'.repeat(10_000),
  [],
  [1, 2],
  {},
  { $gt: '' },
  true,
  "' OR '1'='1",
  '1; DROP TABLE access_logs; --',
  '"; SELECT SLEEP(10); --',
  '\u0000',
  '\u202e\u0007\u001b[2J',
  '🙂',
  '%00',
  '../../etc/passwd',
  '2024-13-01T00:00:00Z',
  '2024-02-30',
  '0000-00-00',
  '10000-01-01',
  '1e3',
  '0x10',
  '256.1.1.1',
  '::ffff:999.1.1.1',
  'constructor',
  '__proto__',
];

function badInputCases(): Case[] {
  const cases: Case[] = [];
  // Bodies that are no request.
  const bodies: [string, string | Buffer, string][] = [
    ['empty body', '', 'INVALID_JSON'],
    ['blank body', '   ', 'INVALID_JSON'],
    ['null', 'null', 'INVALID_JSON'],
    ['a number', '123', 'INVALID_JSON'],
    ['a string', '"health"', 'INVALID_JSON'],
    ['an array', '[{"intent":"health"}]', 'INVALID_JSON'],
    ['cut JSON', '{"intent":"hea', 'INVALID_JSON'],
    ['trailing junk', '{"intent":"health"} x', 'INVALID_JSON'],
    ['two objects', '{"intent":"health"}{"intent":"health"}', 'INVALID_JSON'],
    ['single quotes', "{'intent':'health'}", 'INVALID_JSON'],
    ['a lone surrogate escape in a key', '{"\\ud800":1,"intent":"health"}', ''],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), 'INVALID_JSON'],
    ['UTF-16', Buffer.from('{"intent":"health"}', 'utf16le'), 'INVALID_JSON'],
    ['deep nesting', `{"intent":"health","params":{"a":${'['.repeat(5000)}${']'.repeat(5000)}}}`, ''],
    ['1.1 MB body', body({ intent: 'health', pad: 'x'.repeat(1_100_000) }), 'PAYLOAD_TOO_LARGE'],
  ];
  for (const [what, b, code] of bodies)
    cases.push({
      what: `body: ${what}`,
      body: b,
      status: what === 'a lone surrogate escape in a key' ? [200, 400] : [400, 413],
      ...(code ? { code } : {}),
    });
  cases.push({ what: 'body: over 10 MB', body: Buffer.alloc(10 * 1024 * 1024 + 1, 0x20), status: [413] });
  // Intents that are no intent.
  for (const intent of [
    undefined,
    null,
    '',
    ' ',
    123,
    [],
    {},
    true,
    'HEALTH',
    'no_such_intent',
    'x'.repeat(5000),
    "health' OR 1=1 --",
    'health\u0000',
    '__proto__',
    'constructor',
    'toString',
  ])
    cases.push({
      what: `intent ${JSON.stringify(intent)?.slice(0, 40)}`,
      body: body({ intent }),
      status: [400],
    });
  // params that are no object.
  for (const params of ['x', 1, [], true])
    cases.push({
      what: `params ${JSON.stringify(params)}`,
      body: ask('health', params),
      code: 'INVALID_REQUEST',
    });
  // Every parameter of every intent, with every hostile value; and a parameter no intent takes.
  for (const intent of INTENTS) {
    for (const name of [...Object.keys(intent.params), 'ip', '__proto__', 'constructor']) {
      for (const value of HOSTILE_VALUES) {
        cases.push({
          what: `${intent.name} ${name}=${JSON.stringify(value)?.slice(0, 30)}`,
          body: `{"intent":${JSON.stringify(intent.name)},"params":{${JSON.stringify(name)}:${JSON.stringify(value)}}}`,
          // Some values happen to be valid for some parameters (0 for nothing, '1e3' for none): 200 is fine.
          status: [200, 400],
          code: 'INVALID_PARAMS',
        });
      }
    }
  }
  // Contradictory windows.
  for (const params of [
    { all_time: true, hours: 1 },
    { hours: 1, start_time: '2024-01-01T00:00:00Z' },
    { start_time: '2025-01-01T00:00:00Z', end_time: '2024-01-01T00:00:00Z' },
    { hours: 8761 },
    { interval: 'minute', hours: 8760 },
  ])
    cases.push({
      what: `window ${JSON.stringify(params)}`,
      body: ask('get_traffic_timeseries', params),
      code: 'INVALID_PARAMS',
    });
  // Keys, methods and paths.
  cases.push({
    what: 'no key',
    body: ask('health'),
    headers: [['content-type', 'application/json']],
    status: [403],
  });
  cases.push({
    what: 'a wrong key',
    body: ask('health'),
    headers: [['x-api-key', 'x'.repeat(40)]],
    status: [403],
  });
  cases.push({ what: 'an empty key', body: ask('health'), headers: [['x-api-key', '']], status: [403] });
  cases.push({
    what: 'the key value in capitals',
    body: ask('health'),
    headers: [['x-api-key', state.apiKey.toUpperCase()]],
    status: [403],
  });
  cases.push({
    what: 'the key header spelt X-Api-Key',
    body: ask('health'),
    headers: [['X-Api-Key', state.apiKey]],
    status: [200],
  });
  const base = state.gateway.url;
  const origin = new URL(base).origin;
  for (const path of [
    '/',
    `/${state.gateway.stage}`,
    `${new URL(base).pathname}/x`,
    `${new URL(base).pathname.toUpperCase()}`,
    `/dev/${state.gateway.resource}`,
    `/${state.gateway.stage}/%63hatbot`,
    `/${state.gateway.stage}/${state.gateway.resource}/..`,
    '/*',
  ])
    cases.push({ what: `path ${path}`, body: ask('health'), url: `${origin}${path}`, status: [403, 200] });
  return cases;
}

function hostileHeaderCases(): Case[] {
  const key: [string, string] = ['x-api-key', state.apiKey];
  const cases: Case[] = [];
  for (const name of [
    'constructor',
    '__proto__',
    'toString',
    'valueOf',
    'hasOwnProperty',
    '__defineSetter__',
  ])
    cases.push({
      what: `header and query named ${name}`,
      body: ask('health'),
      headers: [key, [name, '1'], [name, '2']],
      url: `${state.gateway.url}?${name}=1&${name}=2`,
      status: [200],
    });
  cases.push({
    what: '100 headers',
    body: ask('health'),
    headers: [key, ...Array.from({ length: 100 }, (_, i): [string, string] => [`x-h${i}`, String(i)])],
    status: [200],
  });
  cases.push({
    what: 'a 12 KB header',
    body: ask('health'),
    headers: [key, ['x-big', 'a'.repeat(12_000)]],
    status: [200],
  });
  cases.push({
    what: 'the key twice, wrong one last',
    body: ask('health'),
    headers: [key, ['x-api-key', 'y'.repeat(40)]],
    status: [403],
  });
  cases.push({
    what: 'a Content-Encoding it does not have',
    body: ask('health'),
    headers: [key, ['content-encoding', 'gzip']],
    status: [200],
  });
  cases.push({
    what: 'a form content type',
    body: ask('health'),
    headers: [key, ['content-type', 'text/plain']],
    status: [200],
  });
  cases.push({
    what: 'a query string of 200 parameters',
    body: ask('health'),
    headers: [key],
    url: `${state.gateway.url}?${Array.from({ length: 200 }, (_, i) => `p${i}=${i}`).join('&')}`,
    status: [200],
  });
  cases.push({
    what: 'a broken percent escape in the query',
    body: ask('health'),
    headers: [key],
    url: `${state.gateway.url}?a=%zz&%%`,
    status: [200],
  });
  return cases;
}

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), 'adversarial-'));
  // Run as root, the private MariaDB may run as the mysql user, which must pass through this folder.
  chmodSync(cwd, 0o711);
  // A usage plan no case reaches: every 429 would be the stand-in's throttle, not what is tested.
  writeFileSync(
    join(cwd, 'chatbot-ops.config.json'),
    body({ usagePlan: { rateLimit: 5000, burstLimit: 5000, quotaLimit: 1_000_000, quotaPeriod: 'DAY' } }),
  );
  const port = await freePort();
  const up = await cli(['local', 'up', '--detach', '--port', String(port), '--rows', String(ROWS)]);
  if (up.code !== 0) throw new Error(`local up failed: ${up.stderr}`);
  state = readLocalState(cwd) as LocalState;
}, 300_000);

afterAll(async () => {
  if (state) await cli(['local', 'down']);
  // Whatever the stack left if down failed: its recorded processes.
  for (const pid of [state?.pids.supervisor, state?.pids.mariadb])
    if (pid !== undefined && isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(cwd, { recursive: true, force: true });
}, 120_000);

describe('the local stack under attack (issue 16)', () => {
  it('bad input: every answer JSON, the documented status and code, no 5xx', async () => {
    const cases = badInputCases();
    await runAll(cases);
    expect(cases.length).toBeGreaterThan(600);
    expect(failures).toEqual([]);
  }, 300_000);

  it('tampered cursors are INVALID_PARAMS', async () => {
    const r = await postWithHeaders(
      state.gateway.url,
      [['x-api-key', state.apiKey]],
      ask('get_access_logs', { limit: 1, all_time: true }),
    );
    const cursor = (JSON.parse(r.text) as { data: { next_cursor: string } }).data.next_cursor;
    expect(cursor).toEqual(expect.any(String));
    const flip = (s: string, i: number) => `${s.slice(0, i)}${s[i] === 'A' ? 'B' : 'A'}${s.slice(i + 1)}`;
    await runAll(
      [
        flip(cursor, 0),
        flip(cursor, Math.floor(cursor.length / 2)),
        flip(cursor, cursor.length - 1),
        cursor.slice(0, -4),
        `${cursor}AAAA`,
        Buffer.from('{"ts":"2024-01-01","id":1}').toString('base64url'),
        '',
        'x'.repeat(5000),
      ].map((c, i) => ({
        what: `cursor tampering ${i}`,
        body: ask('get_access_logs', { limit: 1, all_time: true, cursor: c }),
        code: 'INVALID_PARAMS',
      })),
    );
    // A cursor of one query is refused by another.
    await check({
      what: 'a cursor used for another filter',
      body: ask('get_access_logs', { limit: 1, all_time: true, method: 'POST', cursor }),
      code: 'INVALID_PARAMS',
    });
    expect(failures).toEqual([]);
  }, 120_000);

  it('hostile headers and query strings: never a 5xx', async () => {
    await runAll(hostileHeaderCases());
    expect(failures).toEqual([]);
  }, 120_000);

  it('malformed HTTP: a JSON answer where the request can be read, the stand-in still serving after', async () => {
    const path = new URL(state.gateway.url).pathname;
    const port = state.gateway.port;
    const healthBody = ask('health');
    const good = `POST ${path} HTTP/1.1\r\nHost: x\r\nx-api-key: ${state.apiKey}\r\nContent-Length: ${healthBody.length}\r\n\r\n${healthBody}`;
    const malformed: [string, string | Buffer, number][] = [
      ['unknown method', `FOO ${path} HTTP/1.1\r\nHost: x\r\n\r\n`, 403],
      ['lower-case method', `post ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`, 403],
      ['CONNECT', 'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n', 403],
      ['obs-fold', `POST ${path} HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n`, 400],
      ['headers over 16 KB', `POST ${path} HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(17_000)}\r\n\r\n`, 431],
      ['TLS handshake bytes', Buffer.from('160301020001000200fe', 'hex'), 400],
      ['HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 400],
      ['no request target', 'POST HTTP/1.1\r\n\r\n', 400],
      ['space in the header name', `POST ${path} HTTP/1.1\r\nHost: x\r\nX A: b\r\n\r\n`, 400],
      ['NUL in a header value', `POST ${path} HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\n\r\n`, 400],
      [
        'bad chunk size',
        `POST ${path} HTTP/1.1\r\nHost: x\r\nx-api-key: ${state.apiKey}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`,
        400,
      ],
      [
        'Content-Length and Transfer-Encoding',
        `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
        400,
      ],
      [
        'two Content-Lengths',
        `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n{}`,
        400,
      ],
      ['negative Content-Length', `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n`, 400],
      ['bare LF line ends', `POST ${path} HTTP/1.1\nHost: x\nX-A: \x7f\n\n`, 400],
    ];
    for (const [what, bytes, status] of malformed) {
      const r = await rawRequest(port, bytes);
      seen.push({ where: what, text: `${JSON.stringify(r.headers)}\n${r.body}` });
      let message: unknown;
      try {
        message = (JSON.parse(r.body) as { message?: unknown }).message;
      } catch {
        message = undefined;
      }
      if (
        r.status !== status ||
        r.headers['content-type'] !== 'application/json' ||
        typeof message !== 'string'
      )
        failures.push(
          `malformed HTTP, ${what}: ${r.status} ${r.headers['content-type']} ${r.body.slice(0, 100)}`,
        );
    }
    // Two requests pipelined on one connection.
    const pipelined = await rawExchange(
      port,
      good + good.replace('HTTP/1.1\r\n', 'HTTP/1.1\r\nConnection: close\r\n'),
    );
    if (pipelined.map((a) => a.status).join() !== '200,200')
      failures.push(`pipelined: ${pipelined.map((a) => a.status).join()}`);
    // A client that closes its side right after sending: Node's server takes that as the client
    // leaving (no answer); the stand-in must drop the request and go on serving.
    await rawExchange(port, good, { halfClose: true });
    // Still serving.
    await check({ what: 'health after the malformed requests', body: ask('health'), status: [200] });
    expect(failures).toEqual([]);
  }, 120_000);

  it('hostile db load files: refused or loaded as documented, nothing doubled, the API sees the result', async () => {
    const dir = join(cwd, 'logs');
    execFileSync('mkdir', ['-p', dir]);
    const line = (ip: string, i: number, path = '/adv') =>
      `${ip} - - [01/Jan/2026:00:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')} +0000] "GET ${path} HTTP/1.1" 200 5 "-" "adversary"`;
    const file = (name: string, content: string | Buffer) => {
      const p = join(dir, name);
      writeFileSync(p, content);
      return p;
    };
    const good = Array.from({ length: 100 }, (_, i) => line('203.0.113.7', i)).join('\n');
    // name, path, expected exit code, rows it adds
    const loads: [string, string, number, number][] = [
      [
        'control bytes in bad lines',
        file('control.log', `${line('203.0.113.8', 1)}\n\u001b]0;x\u0007\u001b[31m junk\n`),
        0,
        1,
      ],
      [
        'a combined line cut after its referrer',
        file(
          'cut.log',
          `${line('203.0.113.9', 1)}\n${line('203.0.113.9', 2).replace(/ "adversary"$/, '')}\n`,
        ),
        0,
        1,
      ],
      ['every line bad', file('junk.log', 'hello\nworld\n{"json":true}\n'), 1, 0],
      [
        'binary junk',
        file('binary.log', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256))),
        1,
        0,
      ],
      ['gzip cut in the middle', file('cut.log.gz', gzipSync(good).subarray(0, 200)), 1, 0],
      [
        'a line of 2 MB between good ones',
        file(
          'long.log',
          `${line('203.0.113.10', 1)}\n${'x'.repeat(2_000_000)}\n${line('203.0.113.10', 2)}\n`,
        ),
        0,
        2,
      ],
      [
        'CRLF and NUL bytes',
        file('crlf.log', `${line('203.0.113.11', 1)}\r\n\u0000\u0000\r\n${line('203.0.113.11', 2)}\r\n`),
        0,
        2,
      ],
      [
        'SQL in the path',
        file('sql.log', `${line('203.0.113.12', 1, "/x'%20OR%201=1;DROP%20TABLE%20access_logs;--")}\n`),
        0,
        1,
      ],
      ['a file name with spaces and unicode', file('ünï cödé log.log', `${line('203.0.113.13', 1)}\n`), 0, 1],
      ['an empty file', file('empty.log', ''), 0, 0],
      ['the good file', file('good.log', good), 0, 100],
      ['the good file again', join(dir, 'good.log'), 0, 0],
      ['the good file gzipped', file('good.log.gz', gzipSync(good)), 0, 0],
      ['a directory', dir, 2, 0],
    ];
    let added = 0;
    for (const [what, path, code, rows] of loads) {
      const r = await cli(['db', 'load', path]);
      seen.push({ where: `db load ${what}`, text: r.stdout + r.stderr });
      // biome-ignore lint/suspicious/noControlCharactersInRegex: no raw control byte may reach the terminal
      if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(r.stdout + r.stderr))
        failures.push(`db load ${what}: raw control bytes printed`);
      if (r.code !== code)
        failures.push(`db load ${what}: exit ${r.code}, expected ${code}: ${r.stderr.slice(0, 300)}`);
      added += rows;
    }
    // The same new file twice at once, and a big file whose load is killed half-way and run again.
    const twice = file(
      'twice.log',
      Array.from({ length: 500 }, (_, i) => line('203.0.113.14', i)).join('\n'),
    );
    const both = await Promise.all([cli(['db', 'load', twice]), cli(['db', 'load', twice])]);
    for (const r of both) seen.push({ where: 'concurrent db load', text: r.stdout + r.stderr });
    added += 500;
    const big = file(
      'big.log',
      Array.from({ length: 60_000 }, (_, i) => line('203.0.113.15', i % 3600)).join('\n'),
    );
    const killed = spawnCli(['db', 'load', big], { cwd, env: { DB_HOST: '' } });
    await new Promise((r) => setTimeout(r, 1500));
    killed.child.kill('SIGKILL');
    await killed.exited;
    const rerun = await cli(['db', 'load', big]);
    seen.push({ where: 'db load after a kill', text: rerun.stdout + rerun.stderr });
    if (rerun.code !== 0)
      failures.push(`db load after a kill: exit ${rerun.code}: ${rerun.stderr.slice(0, 300)}`);
    added += 60_000;

    // What the API says now.
    const total = await postWithHeaders(
      state.gateway.url,
      [['x-api-key', state.apiKey]],
      ask('get_traffic_summary', { all_time: true }),
    );
    const data = (JSON.parse(total.text) as { data: { total_requests: number } }).data;
    if (data.total_requests !== ROWS + added)
      failures.push(
        `rows after the loads: ${data.total_requests}, expected ${ROWS + added} (seeded ${ROWS} + ${added})`,
      );
    const sql = await postWithHeaders(
      state.gateway.url,
      [['x-api-key', state.apiKey]],
      ask('get_access_logs', { all_time: true, ip_address: '::ffff:203.0.113.12' }),
    );
    const logs = (JSON.parse(sql.text) as { data: { logs: { endpoint: string }[] } }).data.logs;
    if (logs[0]?.endpoint !== "/x'%20OR%201=1;DROP%20TABLE%20access_logs;--")
      failures.push(`the SQL-looking path came back as ${JSON.stringify(logs[0]?.endpoint)}`);
    expect(failures).toEqual([]);
  }, 300_000);

  it('secrets sweep: the database password and the API key appear nowhere they should not', () => {
    const password = state.db.password;
    const key = state.apiKey;
    expect(password.length).toBeGreaterThanOrEqual(16);
    const local = join(cwd, '.chatbot-ops', 'local');
    const logs = ['function.log', 'stack.log'].map((f) => ({
      where: f,
      text: readFileSync(join(local, f), 'utf8'),
    }));
    for (const { where, text } of [...seen, ...logs]) {
      if (text.includes(password)) failures.push(`the database password in ${where}`);
      // `local up` prints the key to the user on purpose; no log file holds it.
      if (text.includes(key)) failures.push(`the API key in ${where}`);
    }
    expect(statSync(join(local, 'state.json')).mode & 0o077).toBe(0);
    for (const f of readdirSync(local).filter((n) => n.endsWith('.log')))
      if ((statSync(join(local, f)).mode & 0o077) !== 0) failures.push(`${f} is readable by others`);
    expect(seen.length).toBeGreaterThan(600);
    expect(failures).toEqual([]);
  });
});
