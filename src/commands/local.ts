/**
 * `chatbot-ops local up | down | status` (SPEC 3): the whole backend on 127.0.0.1, in the foreground
 * (Ctrl-C stops it) or detached under a supervisor process whose state is in .chatbot-ops/local/state.json.
 */
import { spawn } from 'node:child_process';
import { closeSync, createWriteStream, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Option } from 'commander';
import mysql from 'mysql2/promise';
import { assertInteger, type CommandModule, type Context } from '../cli/context.js';
import { invokedAs } from '../cli/invoked-as.js';
import { callApi } from '../client/api-client.js';
import { renderData } from '../client/render.js';
import { portInUse } from '../db/server.js';
import { UserError } from '../errors.js';
import {
  cleanStaleStack,
  inspectExistingStack,
  isProcessAlive,
  stopRecordedStack,
} from '../local/lifecycle.js';
import { type DbServer, type LocalStack, startLocalStack } from '../local/stack.js';
import {
  type LocalState,
  localStateDir,
  readLocalState,
  removeLocalState,
  writeLocalState,
} from '../local/state.js';

interface UpFlags {
  port?: string;
  rows?: string;
  load?: string[];
  detach?: boolean;
  demo: boolean;
  containers?: string;
  supervise?: boolean;
}

/** An existing server named by DB_HOST (or the config's database.host): the stack uses it as given. */
function namedServer(ctx: Context, env = process.env): DbServer | undefined {
  const db = ctx.config().database;
  if (env.DB_HOST) {
    return {
      host: env.DB_HOST,
      port: Number(env.DB_PORT ?? 3306),
      user: env.DB_USER ?? db.user,
      password: env.DB_PASSWORD ?? '',
    };
  }
  if (db.host) return { host: db.host, port: db.port, user: db.user, password: env[db.passwordEnv] ?? '' };
  return undefined;
}

function stateOf(stack: LocalStack, supervisor: number): LocalState {
  return {
    version: 1,
    startedAt: new Date().toISOString(),
    dir: localStateDir(),
    pids: { supervisor, ...(stack.mariadbPid !== undefined ? { mariadb: stack.mariadbPid } : {}) },
    gateway: {
      url: stack.url,
      host: '127.0.0.1',
      port: stack.port,
      stage: stack.stage,
      resource: stack.resource,
    },
    apiKey: stack.apiKey,
    usagePlan: stack.usagePlan,
    db: stack.db,
  };
}

/** The lines that tell the user how to use the running stack. The local key is printed: that is its purpose. */
function printReady(ctx: Context, state: LocalState, rows: number, detached: boolean): void {
  const { ui } = ctx;
  const cli = invokedAs();
  const body = `{"intent":"get_traffic_summary","params":{"hours":24}}`;
  ui.info('');
  ui.info(ui.style.bold('The chatbot backend is running locally.'));
  ui.info(`  URL:       ${state.gateway.url}`);
  ui.info(`  API key:   ${state.apiKey}  ${ui.style.dim('(local only; a new one on every `local up`)')}`);
  ui.info(
    `  Database:  ${state.db.database} on ${state.db.host}:${state.db.port} (${rows.toLocaleString('en-US')} rows${state.db.managed ? ', private MariaDB' : ''})`,
  );
  ui.info('');
  ui.info('Try it:');
  ui.info(
    `  curl -s -X POST '${state.gateway.url}' -H 'x-api-key: ${state.apiKey}' -H 'content-type: application/json' -d '${body}'`,
  );
  ui.info(`  ${cli} invoke get_traffic_summary --local`);
  ui.info(`  ${cli} test --local`);
  ui.info('');
  ui.info(detached ? `Stop it with: ${cli} local down` : 'Press Ctrl-C to stop (database included).');
  ui.result({
    url: state.gateway.url,
    apiKey: state.apiKey,
    rows,
    db: { host: state.db.host, port: state.db.port, database: state.db.database, managed: state.db.managed },
    pids: state.pids,
    detached,
  });
}

/** The backend answering, through the stand-in over HTTP, as a user would call it. */
async function demo(ctx: Context, state: LocalState): Promise<void> {
  for (const intent of ['health', 'get_traffic_summary']) {
    const r = await callApi(state.gateway.url, JSON.stringify({ intent }), { apiKey: state.apiKey });
    ctx.ui.info('');
    ctx.ui.info(
      ctx.ui.style.bold(`POST ${state.gateway.url} {"intent":"${intent}"} → ${r.status} (${r.ms} ms)`),
    );
    for (const line of renderData((r.json as { data?: unknown })?.data ?? r.json)) ctx.ui.info(`  ${line}`);
  }
}

function waitForStopSignal(): Promise<string> {
  return new Promise((resolveSignal) => {
    const onSignal = (signal: string) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      // A second Ctrl-C while stopping ends at once.
      process.once('SIGINT', () => process.exit(130));
      resolveSignal(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** Refuse a second stack; clean the leftovers of a killed one. */
async function checkNoStackRunning(ctx: Context): Promise<void> {
  const existing = inspectExistingStack();
  if (existing.kind === 'running') {
    throw new UserError(
      `a local stack is already running at ${existing.state.gateway.url} (pid ${existing.state.pids.supervisor})`,
      {
        hint: 'Use it (`chatbot-ops invoke ... --local`), or stop it first with `chatbot-ops local down`.',
      },
    );
  }
  if (existing.kind === 'stale') {
    ctx.ui.warn('a previous local stack was stopped without `local down`; cleaning up what it left');
    await cleanStaleStack(existing);
  }
}

/** `--detach`: run `local up --supervise` as a background process and wait until it has written its state. */
async function startSupervisor(ctx: Context, flags: UpFlags): Promise<number> {
  const stateDir = localStateDir();
  const logFile = join(stateDir, 'stack.log');
  const args = [
    ...process.execArgv,
    process.argv[1] as string,
    ...(ctx.options.config ? ['--config', ctx.options.config] : []),
    ...(ctx.options.verbose ? ['--verbose'] : []),
    'local',
    'up',
    '--supervise',
    '--no-demo',
    ...(flags.port ? ['--port', flags.port] : []),
    ...(flags.rows ? ['--rows', flags.rows] : []),
    ...(flags.containers ? ['--containers', flags.containers] : []),
    ...(flags.load?.length ? ['--load', ...flags.load] : []),
  ];
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const fd = openSync(logFile, 'w', 0o600);
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ['ignore', fd, fd],
    env: process.env,
  });
  closeSync(fd);
  child.unref();
  let exited: number | null | undefined;
  child.once('exit', (code) => {
    exited = code;
  });
  const spinner = ctx.ui.spinner('Starting the local stack in the background');
  const deadline = Date.now() + 300_000;
  for (;;) {
    const state = readLocalState();
    if (state && state.pids.supervisor === child.pid) {
      spinner.succeed(`Local stack running in the background (pid ${child.pid}, log ${logFile})`);
      const rows = Number(/rows=(\d+)/.exec(readFileSync(logFile, 'utf8'))?.[1] ?? 0);
      printReady(ctx, state, rows, true);
      return 0;
    }
    if (exited !== undefined || Date.now() > deadline) {
      spinner.fail('The local stack did not start');
      if (exited === undefined && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
      const log = existsSync(logFile)
        ? readFileSync(logFile, 'utf8').trim().split('\n').slice(-8).join('\n')
        : '';
      throw new UserError(
        `local up --detach failed${exited !== undefined ? ` (exit ${exited})` : ' (timed out)'}`,
        {
          hint: log || `See ${logFile}.`,
        },
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function up(ctx: Context, flags: UpFlags): Promise<number> {
  const config = ctx.config();
  const port = flags.port === undefined ? config.local.port : assertInteger(flags.port, '--port', 0, 65535);
  const rows = flags.rows === undefined ? undefined : assertInteger(flags.rows, '--rows', 0, 100_000_000);
  const containers =
    flags.containers === undefined ? undefined : assertInteger(flags.containers, '--containers', 1, 64);
  if (!flags.supervise) await checkNoStackRunning(ctx);
  if (port !== 0 && (await portInUse(port))) {
    throw new UserError(`port ${port} on 127.0.0.1 is already in use`, {
      hint: 'Stop what uses it, or choose another port with --port (or local.port in the config).',
    });
  }
  const server = namedServer(ctx);
  // The supervisor of --detach re-runs this function; the check was made (and answered) by its parent.
  if (server && rows !== undefined && !ctx.options.yes && !flags.supervise) {
    throw new UserError(
      `--rows would replace every row of access_logs on ${server.host}:${server.port}, a server local up did not start`,
      { hint: 'Add --yes to replace them, or leave out --rows to serve the data that is there.' },
    );
  }
  if (flags.detach) return startSupervisor(ctx, flags);

  const stateDir = localStateDir();
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const functionLog = createWriteStream(join(stateDir, 'function.log'), { flags: 'a', mode: 0o600 });
  const spinner = ctx.ui.spinner('Starting the local stack');
  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      config,
      stateDir,
      port,
      ...(server ? { server, createUser: false } : {}),
      ...(rows !== undefined ? { rows, reseed: true } : {}),
      ...(flags.load?.length ? { load: flags.load } : {}),
      ...(containers ? { containers } : {}),
      detachedDb: Boolean(flags.supervise),
      onProgress: (m) => spinner.text(`Starting the local stack: ${m}`),
      onLog: (line) => {
        functionLog.write(`${line}\n`);
        ctx.ui.debug(line);
      },
    });
  } catch (err) {
    spinner.fail('The local stack did not start');
    // Closed before the error goes up, so nothing is left writing into a folder a caller may remove.
    await new Promise<void>((resolve) => functionLog.end(resolve));
    throw err;
  }
  const state = stateOf(stack, process.pid);
  writeLocalState(state);
  spinner.succeed(
    `Local stack ready (function package ${(stack.zip.sizeBytes / 1024).toFixed(0)} KB, rows=${stack.rows})`,
  );
  const stopped = waitForStopSignal();
  printReady(ctx, state, stack.rows, Boolean(flags.supervise));
  if (flags.demo && !flags.supervise)
    await demo(ctx, state).catch((err: unknown) =>
      ctx.ui.warn(`demo request failed: ${(err as Error).message}`),
    );
  const signal = await stopped;
  const stopping = ctx.ui.spinner(`Stopping the local stack (${signal})`);
  await stack.stop();
  functionLog.end();
  removeLocalState();
  stopping.succeed('Local stack stopped');
  return 0;
}

async function down(ctx: Context): Promise<number> {
  const existing = inspectExistingStack();
  if (existing.kind === 'none') {
    ctx.ui.info('Nothing to stop: no local stack is running here.');
    ctx.ui.result({ stopped: false, reason: 'not running' });
    return 0;
  }
  if (existing.kind === 'stale') {
    await cleanStaleStack(existing);
    ctx.ui.info('The local stack was not running; cleaned up what it left behind.');
    ctx.ui.result({ stopped: false, reason: 'stale state cleaned', pids: existing.leftovers });
    return 0;
  }
  const spinner = ctx.ui.spinner(`Stopping the local stack at ${existing.state.gateway.url}`);
  await stopRecordedStack(existing.state);
  spinner.succeed('Local stack stopped');
  ctx.ui.result({ stopped: true, pids: existing.state.pids });
  return 0;
}

async function countRows(state: LocalState): Promise<number | undefined> {
  try {
    const { host, port, user, password, database } = state.db;
    const conn = await mysql.createConnection({ host, port, user, password, database, connectTimeout: 2000 });
    try {
      const [rows] = await conn.query('SELECT COUNT(*) AS n FROM access_logs');
      return Number((rows as { n: number }[])[0]?.n);
    } finally {
      await conn.end();
    }
  } catch {
    return undefined;
  }
}

async function status(ctx: Context): Promise<number> {
  const state = readLocalState();
  if (!state) {
    ctx.ui.info('No local stack is running here.');
    ctx.ui.result({ running: false });
    return 0;
  }
  const running = isProcessAlive(state.pids.supervisor);
  const rows = running ? await countRows(state) : undefined;
  const health = running
    ? await callApi(state.gateway.url, '{"intent":"health"}', {
        apiKey: state.apiKey,
        timeoutMs: 5000,
      }).catch(() => undefined)
    : undefined;
  const { style } = ctx.ui;
  ctx.ui.info(
    `Local stack: ${running ? style.green('running') : style.red('not running (stale state; `local down` cleans it)')}`,
  );
  ctx.ui.info(`  URL:       ${state.gateway.url}`);
  ctx.ui.info(`  started:   ${state.startedAt} (pid ${state.pids.supervisor ?? '-'})`);
  ctx.ui.info(
    `  database:  ${state.db.database} on ${state.db.host}:${state.db.port}${state.db.managed ? ` (private MariaDB, pid ${state.pids.mariadb})` : ''}`,
  );
  if (running) {
    ctx.ui.info(
      `  rows:      ${rows === undefined ? 'unknown (database not answering)' : rows.toLocaleString('en-US')}`,
    );
    ctx.ui.info(`  health:    ${health ? `${health.status} in ${health.ms} ms` : 'no answer'}`);
  }
  ctx.ui.result({
    running,
    url: state.gateway.url,
    startedAt: state.startedAt,
    pids: state.pids,
    db: { host: state.db.host, port: state.db.port, database: state.db.database, managed: state.db.managed },
    rows: rows ?? null,
    healthStatus: health?.status ?? null,
  });
  // status only reports; cleaning a stale state is `down`'s (or the next `up`'s) job.
  return running ? 0 : 1;
}

export const register: CommandModule = (program, run) => {
  const local = program
    .command('local')
    .description(
      'run the whole backend on 127.0.0.1: MariaDB, the packaged function, an API Gateway stand-in',
    );
  local
    .command('up')
    .description('start the local stack (foreground; --detach for the background)')
    .option('--port <n>', 'gateway port (default: local.port in the config, 3000)')
    .option('--rows <n>', 'seed this many rows of sample traffic (replacing what is there)')
    .option('--load <file...>', 'load these access logs instead of seeding')
    .option('--detach', 'run in the background; stop with `local down`')
    .option('--no-demo', 'do not call the backend once it is up')
    .option('--containers <n>', 'concurrent Lambda containers (default 4)')
    .addOption(new Option('--supervise', 'internal: the background process of --detach').hideHelp())
    .action(run(async (ctx, flags: UpFlags) => up(ctx, flags)));
  local
    .command('down')
    .description('stop what `local up` started, and nothing else')
    .action(run(async (ctx) => down(ctx)));
  local
    .command('status')
    .description('is the local stack running; its URL and rows')
    .action(run(async (ctx) => status(ctx)));
};
