/**
 * `chatbot-ops local up | down | status`: the whole backend on 127.0.0.1 (docs/local.md), in the foreground (Ctrl-C stops it) or detached under a supervisor process
 * whose state is in .chatbot-ops/local/state.json. The stack itself is src/local/.
 */
import { createWriteStream, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { Option } from 'commander';
import { describeCommand } from '../cli/catalog.js';
import { assertInteger, type CommandModule, type Context } from '../cli/context.js';
import { invokedAs } from '../cli/invoked-as.js';
import { ChatbotClient } from '../client/chatbot-client.js';
import { renderData } from '../client/render.js';
import { answersWithin } from '../db/connection.js';
import { portInUse } from '../db/server.js';
import { UserError } from '../errors.js';
import type { WatchdogEvent } from '../local/db-watchdog.js';
import {
  cleanStaleStack,
  deadDatabase,
  inspectExistingStack,
  isProcessAlive,
  stopRecordedStack,
} from '../local/lifecycle.js';
import { type LocalStack, startLocalStack } from '../local/stack.js';
import {
  type LocalState,
  localStateDir,
  readLocalState,
  removeLocalState,
  writeLocalState,
} from '../local/state.js';
import { namedServer, recordedState, startSupervisor } from '../local/supervisor.js';
import { acquireUpLock, lockHeldError, lockHolder, type UpLock } from '../local/up-lock.js';

interface UpFlags {
  port?: string;
  rows?: string;
  load?: string[];
  detach?: boolean;
  demo: boolean;
  containers?: string;
  supervise?: boolean;
  /** With --supervise: the log file the parent gave it, renamed to stack.log once it holds the lock. */
  logFile?: string;
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
  if (state.ingest)
    ui.info(
      `  ${cli} db load --remote --local access.log   ${ui.style.dim(`(through s3://${state.ingest.bucket}/${state.ingest.prefix} and the ingest function)`)}`,
    );
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
  const client = new ChatbotClient({ url: state.gateway.url, apiKey: state.apiKey, retries: 0 });
  for (const intent of ['health', 'get_traffic_summary']) {
    const r = await client.send({ intent });
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

function alreadyRunning(state: LocalState): UserError {
  return new UserError(
    `a local stack is already running at ${state.gateway.url} (pid ${state.pids.supervisor})`,
    {
      hint: 'Use it (`chatbot-ops invoke ... --local`), or stop it first with `chatbot-ops local down`.',
    },
  );
}

/**
 * Before the lock: refuse a healthy stack, and stop a broken one (its supervisor holds the lock).
 * Nothing else is touched here: a racing `up` may be starting its own processes in this folder.
 */
async function refuseOrStopExisting(ctx: Context): Promise<void> {
  const existing = inspectExistingStack();
  if (existing.kind === 'running') throw alreadyRunning(existing.state);
  if (existing.kind === 'broken') {
    ctx.ui.warn(`the local stack running here is out of service (${existing.reason}); stopping it`);
    await stopRecordedStack(existing.state);
  }
}

/**
 * Make this folder ours: refuse a running stack, stop a broken one, take the lock (of two racing
 * `up`s exactly one gets it), then, holding it, clean the leftovers of a killed one.
 */
async function claimFolder(ctx: Context): Promise<UpLock> {
  await refuseOrStopExisting(ctx);
  const lock = await acquireUpLock(localStateDir());
  try {
    const existing = inspectExistingStack();
    if (existing.kind === 'running') throw alreadyRunning(existing.state);
    if (existing.kind === 'broken') await stopRecordedStack(existing.state);
    if (existing.kind === 'stale') {
      ctx.ui.warn('a previous local stack was stopped without `local down`; cleaning up what it left');
      await cleanStaleStack(existing);
    }
    return lock;
  } catch (err) {
    await lock.release();
    throw err;
  }
}

/** `--detach`: run `local up --supervise` with the same options in the background. */
async function detach(ctx: Context, flags: UpFlags): Promise<number> {
  await refuseOrStopExisting(ctx);
  const holder = await lockHolder(localStateDir());
  if (holder !== undefined) throw lockHeldError(holder);
  if (inspectExistingStack().kind === 'stale')
    ctx.ui.warn('a previous local stack was stopped without `local down`; cleaning up what it left');
  const spinner = ctx.ui.spinner('Starting the local stack in the background');
  try {
    const started = await startSupervisor([
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
    ]);
    spinner.succeed(`Local stack running in the background (pid ${started.pid}, log ${started.logFile})`);
    printReady(ctx, started.state, started.rows, true);
    return 0;
  } catch (err) {
    spinner.fail('The local stack did not start');
    throw err;
  }
}

/** A line for the stack's log (stack.log under --detach, the terminal in the foreground). */
function logDatabaseEvent(ctx: Context, state: LocalState, event: WatchdogEvent): void {
  const line = `${new Date().toISOString()} ${event.message}`;
  if (event.level === 'info') ctx.ui.info(line);
  else ctx.ui.warn(line);
  if (event.pid !== undefined) state.pids.mariadb = event.pid;
  state.database = { health: event.health, since: new Date().toISOString(), message: event.message };
  writeLocalState(state);
}

async function up(ctx: Context, flags: UpFlags): Promise<number> {
  const config = ctx.config();
  const port = flags.port === undefined ? config.local.port : assertInteger(flags.port, '--port', 0, 65535);
  const rows = flags.rows === undefined ? undefined : assertInteger(flags.rows, '--rows', 0, 100_000_000);
  const containers =
    flags.containers === undefined ? undefined : assertInteger(flags.containers, '--containers', 1, 64);
  if (port !== 0 && (await portInUse(port))) {
    throw new UserError(`port ${port} on 127.0.0.1 is already in use`, {
      hint: 'Stop what uses it, or choose another port with --port (or local.port in the config).',
    });
  }
  const server = namedServer(config);
  // The supervisor of --detach re-runs this function; the check was made (and answered) by its parent.
  if (server && rows !== undefined && !ctx.options.yes && !flags.supervise) {
    throw new UserError(
      `--rows would replace every row of access_logs on ${server.host}:${server.port}, a server local up did not start`,
      { hint: 'Add --yes to replace them, or leave out --rows to serve the data that is there.' },
    );
  }
  if (flags.detach) return detach(ctx, flags);

  const stateDir = localStateDir();
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const lock = await claimFolder(ctx);
  if (flags.supervise && flags.logFile) renameSync(flags.logFile, join(stateDir, 'stack.log'));
  // Filled in once the stack is up; the watchdog's events before that only go to the log.
  let recorded: LocalState | undefined;
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
      onDatabaseEvent: (event) => {
        if (recorded) logDatabaseEvent(ctx, recorded, event);
        else ctx.ui.warn(`${new Date().toISOString()} ${event.message}`);
      },
    });
  } catch (err) {
    spinner.fail('The local stack did not start');
    // Closed before the error goes up, so nothing is left writing into a folder a caller may remove.
    await new Promise<void>((resolve) => functionLog.end(resolve));
    await lock.release();
    throw err;
  }
  const state = recordedState(stack, process.pid);
  writeLocalState(state);
  recorded = state;
  spinner.succeed(
    `Local stack ready (function package ${(stack.zip.sizeBytes / 1024).toFixed(0)} KB, rows=${stack.rows})`,
  );
  const stopped = waitForStopSignal();
  // The background process writes to stack.log, which is a log: the `local up --detach` that started
  // it prints the key to the user from state.json (0600), so the key never lands in a log file.
  if (flags.supervise)
    ctx.ui.info(`The chatbot backend is running at ${state.gateway.url} (pid ${process.pid}).`);
  else printReady(ctx, state, stack.rows, false);
  if (flags.demo && !flags.supervise)
    await demo(ctx, state).catch((err: unknown) =>
      ctx.ui.warn(`demo request failed: ${(err as Error).message}`),
    );
  const signal = await stopped;
  const stopping = ctx.ui.spinner(`Stopping the local stack (${signal})`);
  await stack.stop();
  functionLog.end();
  removeLocalState();
  await lock.release();
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

/** Rows in access_logs through the function's own login, or undefined when the database does not answer in time. */
async function countRows(state: LocalState): Promise<number | undefined> {
  const { host, port, user, password, database } = state.db;
  const rows = await answersWithin(
    { host, port, user, password, database },
    'SELECT COUNT(*) AS n FROM access_logs',
    3000,
  );
  return rows === undefined ? undefined : Number((rows as { n: number }[])[0]?.n);
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
  // The process and the supervisor's record say dead or given up on; a query says frozen.
  const dbProblem = !running
    ? undefined
    : (deadDatabase(state) ??
      (rows !== undefined
        ? undefined
        : state.database?.health === 'frozen'
          ? state.database.message
          : 'it does not answer'));
  const health =
    running && dbProblem === undefined
      ? await new ChatbotClient({ url: state.gateway.url, apiKey: state.apiKey, retries: 0, timeoutMs: 5000 })
          .send({ intent: 'health' })
          .catch(() => undefined)
      : undefined;
  const { style } = ctx.ui;
  ctx.ui.info(
    `Local stack: ${
      !running
        ? style.red('not running (stale state; `local down` cleans it)')
        : dbProblem
          ? style.red('running, but its database is out of service')
          : style.green('running')
    }`,
  );
  ctx.ui.info(`  URL:       ${state.gateway.url}`);
  ctx.ui.info(`  started:   ${state.startedAt} (pid ${state.pids.supervisor ?? '-'})`);
  ctx.ui.info(
    `  database:  ${state.db.database} on ${state.db.host}:${state.db.port}${state.db.managed ? ` (private MariaDB, pid ${state.pids.mariadb})` : ''}`,
  );
  if (running) {
    if (dbProblem) {
      ctx.ui.info(`  problem:   ${style.red(dbProblem)}`);
      ctx.ui.info(
        `             more in ${join(localStateDir(), 'stack.log')} (--detach) or on the terminal of \`local up\`; \`local down\` then \`local up\` starts afresh`,
      );
    } else {
      ctx.ui.info(`  rows:      ${rows === undefined ? 'unknown' : rows.toLocaleString('en-US')}`);
      ctx.ui.info(`  health:    ${health ? `${health.status} in ${health.ms} ms` : 'no answer'}`);
    }
  }
  ctx.ui.result({
    running,
    url: state.gateway.url,
    startedAt: state.startedAt,
    pids: state.pids,
    db: { host: state.db.host, port: state.db.port, database: state.db.database, managed: state.db.managed },
    database: { ok: running && dbProblem === undefined, problem: dbProblem ?? null },
    rows: rows ?? null,
    healthStatus: health?.status ?? null,
  });
  // status only reports; cleaning a stale state is `down`'s (or the next `up`'s) job.
  return running && dbProblem === undefined ? 0 : 1;
}

export const register: CommandModule = (program, run) => {
  const local = program.command('local').description(describeCommand('local'));
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
    .addOption(new Option('--log-file <file>', 'internal: the log --detach gave --supervise').hideHelp())
    .action(run(async (ctx, flags: UpFlags) => up(ctx, flags)));
  local
    .command('down')
    .description('stop what `local up` started, and nothing else')
    .action(run(async (ctx) => down(ctx)));
  local
    .command('status')
    .description('is the local stack running and its database answering; its URL and rows (exit 1 if not)')
    .action(run(async (ctx) => status(ctx)));
};
