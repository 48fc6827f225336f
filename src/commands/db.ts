/**
 * `chatbot-ops db init | load | seed | stats | rollup | prune`: the access-log database the
 * backend reads (docs/database.md). Creating the tables is one idempotent command; loading real
 * logs and seeding synthetic traffic are others; rollup and prune keep the rollups exact and the
 * table bounded.
 */
import { type Command, Option } from 'commander';
import { describeCommand } from '../cli/catalog.js';
import { assertInteger, type CommandModule, type Context } from '../cli/context.js';
import { printable } from '../cli/printable.js';
import { parseTimeFlag } from '../client/request-body.js';
import {
  DB_FLAG_OPTIONS,
  type DbFlags,
  describeDbTarget,
  openPool,
  resolveDbTarget,
} from '../db/connection.js';
import { initDatabase } from '../db/init.js';
import { type LoadReport, LoadStoppedError, loadLogs } from '../db/load.js';
import { LOG_FORMATS, type LogFormat } from '../db/log-formats.js';
import { PRUNE_BATCH_ROWS, parseRetention, pruneAccessLogs } from '../db/prune.js';
import { buildResponseTimes, readRollupStates, verifyRollups } from '../db/rollup-maintenance.js';
import { DEFAULT_SEED, seedTraffic } from '../db/seed.js';
import { collectDbStats, type DbStats } from '../db/stats.js';
import { UsageError, UserError } from '../errors.js';
import { runningLocalDatabase } from '../local/lifecycle.js';
import { checkRemoteFlags, REMOTE_FLAG_OPTIONS, type RemoteFlags } from './db-remote.js';

const count = (n: number) => n.toLocaleString('en-US');

function mib(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${(bytes / 1024).toFixed(0)} kB`;
}

/** A text progress bar for the spinner line (only animated on a terminal; see terminal-ui). */
export function progressText(p: { file: string; lines: number; bytes: number; totalBytes?: number }): string {
  if (p.totalBytes === undefined || p.totalBytes === 0)
    return `${p.file}: ${count(p.lines)} lines, ${mib(p.bytes)}`;
  const share = Math.min(1, p.bytes / p.totalBytes);
  const width = 24;
  const filled = Math.round(share * width);
  return `${p.file} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${Math.floor(share * 100)}% ${count(p.lines)} lines`;
}

/** An ISO time from a flag; one without an offset is UTC, as everywhere in this tool. */
function utcTime(iso: string): Date {
  return new Date(/[zZ]|[+-]\d{2}:?\d{2}$/.test(iso) || !iso.includes('T') ? iso : `${iso}Z`);
}

function withDbFlags(cmd: Command, options: { remote?: boolean } = {}): Command {
  for (const [flags, description] of DB_FLAG_OPTIONS) cmd.option(flags, description);
  if (options.remote) for (const [flags, description] of REMOTE_FLAG_OPTIONS) cmd.option(flags, description);
  return cmd;
}

/** The ingest function's side of `--remote` (loaded only then: it brings the AWS SDK). */
async function remote(ctx: Context, flags: RemoteFlags) {
  const [target, api] = await Promise.all([
    import('./db-remote.js').then((m) => m.resolveIngestTarget(ctx, flags)),
    import('../ingest/remote.js'),
  ]);
  ctx.ui.debug(`through ${target.functionName} in ${target.where}, bucket ${target.bucket}`);
  return { target, api };
}

function printLoadReport(ctx: Context, report: LoadReport): void {
  for (const f of report.files) {
    if (f.skipped) {
      ctx.ui.info(`${f.file}: already loaded (same SHA-256), skipped; --force loads it again`);
      continue;
    }
    const bad = f.errors > 0 ? ctx.ui.style.yellow(`, ${count(f.errors)} bad`) : '';
    const cut = f.truncated ? `, ${count(f.truncated)} with fields cut to fit` : '';
    ctx.ui.info(
      `${f.file}: ${count(f.lines)} lines, ${count(f.loaded)} loaded${bad}${cut} (${f.format ?? 'no'} format)`,
    );
  }
  if (report.errors > 0) {
    ctx.ui.warn(
      `${count(report.errors)} line${report.errors === 1 ? '' : 's'} could not be parsed and were not loaded:`,
    );
    // The line and the reason quoting it are the file's bytes: escaped, so none reaches the terminal raw.
    for (const e of report.firstErrors)
      ctx.ui.warn(`  ${printable(e.file)}:${e.line}: ${printable(e.reason)}\n      ${printable(e.text)}`);
    if (report.errors > report.firstErrors.length) {
      ctx.ui.warn(`  ... and ${count(report.errors - report.firstErrors.length)} more`);
    }
  }
}

function printStats(ctx: Context, s: DbStats): void {
  const { info, style } = ctx.ui;
  info(`${style.bold('rows')}        ${count(s.rows)}`);
  info(`${style.bold('first')}       ${s.first ?? '-'}`);
  info(`${style.bold('last')}        ${s.last ?? '-'}`);
  info(style.bold('last 7 days (UTC)'));
  for (const d of s.perDay) info(`  ${d.day}  ${count(d.rows).padStart(12)}`);
  info(style.bold('status classes'));
  for (const [k, v] of Object.entries(s.statusClasses)) {
    const share = s.rows > 0 ? ` (${((v / s.rows) * 100).toFixed(1)}%)` : '';
    info(`  ${k}  ${count(v).padStart(12)}${share}`);
  }
  info(`${style.bold('size')}        data ${mib(s.sizes.dataBytes)}, indexes ${mib(s.sizes.indexBytes)}`);
  info(style.bold('indexes'));
  for (const ix of s.indexes) {
    const size = s.sizes.perIndexBytes?.[ix.name];
    info(
      `  ${ix.name} (${ix.columns.join(', ')})${ix.unique ? ' unique' : ''}${size === undefined ? '' : `  ${mib(size)}`}`,
    );
  }
  if (s.loadHistory) info(`${style.bold('loaded files')} ${count(s.loadHistory.files)}`);
}

/** The database answered that access_logs is not there: say how to make it; any other error as it is. */
function missingTableError(err: unknown): unknown {
  return (err as { code?: string }).code === 'ER_NO_SUCH_TABLE'
    ? new UserError('the access_logs table does not exist', { hint: 'Create it with `chatbot-ops db init`.' })
    : err;
}

export const register: CommandModule = (program, run) => {
  const db = program.command('db').description(describeCommand('db'));

  withDbFlags(db.command('init'), { remote: true })
    .description(
      'create the database (if missing) and the access_logs table with its indexes; safe to re-run',
    )
    .option('--no-create-database', 'fail instead of creating a missing database')
    .action(
      run(async (ctx, opts: DbFlags & RemoteFlags & { createDatabase: boolean }) => {
        checkRemoteFlags(opts);
        let where: string;
        let result: Awaited<ReturnType<typeof initDatabase>>;
        if (opts.remote) {
          const { target, api } = await remote(ctx, opts);
          where = `${target.functionName} (${target.where})`;
          result = await api.remoteInit(target, { createDatabase: opts.createDatabase });
          // A function deployed by an older version answers without rollups.
          result.backfilled ??= { tables: [], ids: 0, remaining: 0 };
          if (result.backfilled.ids > 0)
            ctx.ui.info(`built rollups from ${count(result.backfilled.ids)} existing rows`);
          if (result.classified && result.classified.rows > 0)
            ctx.ui.info(`classified the user agents of ${count(result.classified.rows)} existing rows`);
        } else {
          const target = resolveDbTarget(ctx, opts, { localDb: runningLocalDatabase() });
          ctx.ui.debug(
            `connecting to ${describeDbTarget(target)} (${target.source}, TLS ${target.ssl ? 'on' : 'off'})`,
          );
          where = describeDbTarget(target);
          let spinner: ReturnType<typeof ctx.ui.spinner> | undefined;
          let classifying: ReturnType<typeof ctx.ui.spinner> | undefined;
          let builtRows = 0;
          result = await initDatabase(target, {
            createDatabase: opts.createDatabase,
            onClassify: (p) => {
              // The rollup backfill, when there was one, has finished by now.
              spinner?.succeed(`built rollups from ${count(builtRows)} existing rows`);
              spinner = undefined;
              const text = `classifying user agents of existing rows: ${count(p.done)} of ${count(p.total)}`;
              if (classifying) classifying.text(text);
              else classifying = ctx.ui.spinner(text);
            },
            onBackfill: (p) => {
              builtRows = p.done;
              const text = `building rollups from existing rows: ${count(p.done)} of ${count(p.total)} (${p.total > 0 ? Math.floor((p.done / p.total) * 100) : 100}%)`;
              if (spinner) spinner.text(text);
              else spinner = ctx.ui.spinner(text);
            },
          }).catch((err) => {
            (classifying ?? spinner)?.fail('stopped; run db init again to continue where it stopped');
            throw err;
          });
          spinner?.succeed(`built rollups from ${count(result.backfilled.ids)} existing rows`);
          classifying?.succeed(
            `classified the user agents of ${count(result.classified?.rows ?? 0)} existing rows`,
          );
        }
        ctx.ui.info(where);
        ctx.ui.info(
          result.databaseCreated
            ? `  created database ${result.database}`
            : `  database ${result.database}: already there`,
        );
        for (const c of result.created) ctx.ui.info(`  created ${c}`);
        for (const u of result.unchanged) ctx.ui.info(`  ${u}: already there, left alone`);
        if (result.classified && result.classified.remaining > 0)
          ctx.ui.warn(
            `user agents: ${count(result.classified.remaining)} existing rows still to classify (the function ran short of time); run the same db init again to continue. Until then they count as not bots.`,
          );
        if (result.backfilled.remaining > 0)
          ctx.ui.warn(
            `rollups: ${count(result.backfilled.remaining)} existing rows still to count (the function ran short of time); run the same db init again to continue. Until then the aggregates read the rows.`,
          );
        else if (
          !result.databaseCreated &&
          result.created.length === 0 &&
          result.backfilled.ids === 0 &&
          !result.classified?.rows
        )
          ctx.ui.info('Nothing to do: the schema is up to date.');
        ctx.ui.result({ target: where, ...result });
      }),
    );

  withDbFlags(
    db.command('load').argument('<files...>', 'access-log files (plain or .gz), or - for standard input'),
    { remote: true },
  )
    .description(
      'load access logs (Apache/nginx combined or common, ALB, CloudFront; plain or gzip) into access_logs',
    )
    .addOption(
      new Option('--format <format>', 'log format').choices(['auto', ...LOG_FORMATS]).default('auto'),
    )
    .option('--max-errors <n>', 'stop (loading nothing from the current file) after more than n bad lines')
    .option('--batch-size <n>', 'rows per INSERT', '2000')
    .option('--force', 'load files again even if they were loaded before', false)
    .action(
      run(
        async (
          ctx,
          files: string[],
          opts: DbFlags &
            RemoteFlags & {
              format: 'auto' | LogFormat;
              maxErrors?: string;
              batchSize: string;
              force: boolean;
            },
        ) => {
          const maxErrors =
            opts.maxErrors === undefined
              ? undefined
              : assertInteger(opts.maxErrors, '--max-errors', 0, Number.MAX_SAFE_INTEGER);
          const batchSize = assertInteger(opts.batchSize, '--batch-size', 1, 100_000);
          if (files.includes('-') && process.stdin.isTTY) {
            throw new UsageError(
              "'-' reads the log from standard input, which is a terminal",
              'Pipe a file in: zcat access.log.gz | chatbot-ops db load -',
            );
          }
          checkRemoteFlags(opts);
          if (opts.remote) {
            const { target, api } = await remote(ctx, opts);
            const spinner = ctx.ui.spinner(`loading through ${target.functionName} (${target.where})`);
            const started = Date.now();
            try {
              const report = await api.remoteLoad(target, files, {
                format: opts.format,
                force: opts.force,
                ...(maxErrors === undefined ? {} : { maxErrors }),
                onProgress: (text) => spinner.text(text),
              });
              spinner.succeed(
                `loaded ${count(report.loaded)} rows in ${((Date.now() - started) / 1000).toFixed(1)} s`,
              );
              printLoadReport(ctx, report);
              ctx.ui.result(report);
            } catch (err) {
              spinner.fail('load stopped');
              if (err instanceof LoadStoppedError) {
                printLoadReport(ctx, err.report);
                ctx.ui.result({ ...err.report, stopped: err.message });
              }
              throw err;
            }
            return;
          }
          const target = resolveDbTarget(ctx, opts, { localDb: runningLocalDatabase() });
          const pool = await openPool(target);
          const spinner = ctx.ui.spinner(`loading into ${describeDbTarget(target)}`);
          const started = Date.now();
          /** The count of bad lines when nothing at all could be loaded. */
          let failure: number | undefined;
          try {
            const report = await loadLogs(pool, files, {
              format: opts.format,
              batchSize,
              force: opts.force,
              ...(maxErrors === undefined ? {} : { maxErrors }),
              onProgress: (p) => spinner.text(progressText(p)),
            });
            const seconds = (Date.now() - started) / 1000;
            const rate = seconds > 0 ? ` (${count(Math.round(report.loaded / seconds))} rows/s)` : '';
            // Every line bad is a failed load (exit 1), not a success with warnings: a script that
            // fed the wrong file, or one in another format, must notice.
            const nothingLoaded = report.loaded === 0 && report.errors > 0;
            if (nothingLoaded) spinner.fail('nothing loaded');
            else spinner.succeed(`loaded ${count(report.loaded)} rows in ${seconds.toFixed(1)} s${rate}`);
            printLoadReport(ctx, report);
            ctx.ui.result(report);
            failure = nothingLoaded ? report.errors : undefined;
          } catch (err) {
            spinner.fail('load stopped');
            if (err instanceof LoadStoppedError) {
              printLoadReport(ctx, err.report);
              ctx.ui.result({ ...err.report, stopped: err.message });
            }
            throw err;
          } finally {
            await pool.end();
          }
          if (failure !== undefined) {
            throw new UserError(
              `no line could be loaded: all ${count(failure)} non-blank line${failure === 1 ? ' was' : 's were'} bad`,
              {
                hint: 'Check that the input is an Apache/nginx access log in combined or common format (the reasons are listed above); nothing was written, so a re-run after fixing it starts clean.',
              },
            );
          }
        },
      ),
    );

  withDbFlags(db.command('seed'))
    .description('write realistic synthetic traffic (deterministic for a --seed)')
    .option('--rows <n>', 'rows to write', '100000')
    .option('--days <d>', 'spread over the last d days', '30')
    .option('--seed <s>', 'random seed (same seed and --end give the same rows)', String(DEFAULT_SEED))
    .option('--end <time>', 'latest timestamp, ISO 8601 (default: now)')
    .action(
      run(async (ctx, opts: DbFlags & { rows: string; days: string; seed: string; end?: string }) => {
        const rows = assertInteger(opts.rows, '--rows', 1, 100_000_000);
        const days = assertInteger(opts.days, '--days', 1, 3650);
        const seed = assertInteger(opts.seed, '--seed', 0, 4_294_967_295);
        const end = opts.end === undefined ? new Date() : new Date(opts.end);
        if (Number.isNaN(end.getTime()))
          throw new UsageError(`--end must be an ISO 8601 time (got "${opts.end}")`);
        const target = resolveDbTarget(ctx, opts, { localDb: runningLocalDatabase() });
        const pool = await openPool(target);
        const spinner = ctx.ui.spinner(`seeding ${count(rows)} rows into ${describeDbTarget(target)}`);
        const started = Date.now();
        try {
          const result = await seedTraffic(pool, {
            rows,
            days,
            seed,
            end,
            onProgress: (done) => spinner.text(`seeding: ${count(done)} / ${count(rows)} rows`),
          });
          const seconds = (Date.now() - started) / 1000;
          spinner.succeed(`seeded ${count(result.rows)} rows in ${seconds.toFixed(1)} s`);
          ctx.ui.info(`from ${result.start.toISOString()} to ${result.end.toISOString()}, seed ${seed}`);
          ctx.ui.result({
            rows: result.rows,
            start: result.start.toISOString(),
            end: result.end.toISOString(),
            seed,
            days,
          });
        } catch (err) {
          spinner.fail('seeding failed');
          throw missingTableError(err);
        } finally {
          await pool.end();
        }
      }),
    );

  withDbFlags(db.command('stats'), { remote: true })
    .description('rows, time range, the last 7 days, status classes, table and index sizes')
    .action(
      run(async (ctx, opts: DbFlags & RemoteFlags) => {
        checkRemoteFlags(opts);
        if (opts.remote) {
          const { target, api } = await remote(ctx, opts);
          const stats = await api.remoteStats(target);
          ctx.ui.info(`${target.functionName} (${target.where})`);
          printStats(ctx, stats);
          ctx.ui.result(stats);
          return;
        }
        const target = resolveDbTarget(ctx, opts, { localDb: runningLocalDatabase() });
        const pool = await openPool(target);
        try {
          const stats = await collectDbStats(pool);
          ctx.ui.info(describeDbTarget(target));
          printStats(ctx, stats);
          ctx.ui.result(stats);
        } catch (err) {
          throw missingTableError(err);
        } finally {
          await pool.end();
        }
      }),
    );

  withDbFlags(db.command('rollup'))
    .description(
      'the rollup tables the aggregate intents read: their state, --verify against access_logs, --repair',
    )
    .option('--verify', 'recount whole UTC days from access_logs and list any difference (exit 1 if one)')
    .option('--repair', 'as --verify, then rebuild every day that differs')
    .option(
      '--percentiles',
      "count each past day's response times per busy path, for get_endpoint_stats' p95",
    )
    .option(
      '--since <time>',
      'first day to check: ISO 8601 or a duration ago such as 7d (default: the first row)',
    )
    .option('--until <time>', 'check up to this time: ISO 8601 or a duration ago (default: the last row)')
    .action(
      run(
        async (
          ctx,
          opts: DbFlags & {
            verify?: boolean;
            repair?: boolean;
            percentiles?: boolean;
            since?: string;
            until?: string;
          },
        ) => {
          const now = new Date();
          const since =
            opts.since === undefined ? undefined : utcTime(parseTimeFlag(opts.since, '--since', now));
          const until =
            opts.until === undefined ? undefined : utcTime(parseTimeFlag(opts.until, '--until', now));
          if ((since || until) && !opts.verify && !opts.repair)
            throw new UsageError(
              '--since and --until choose the days to --verify or --repair',
              'Add --verify.',
            );
          const target = resolveDbTarget(ctx, opts, { localDb: runningLocalDatabase() });
          const pool = await openPool(target);
          try {
            const states = await readRollupStates(pool);
            ctx.ui.info(describeDbTarget(target));
            if (states.length === 0)
              throw new UserError('this database has no rollup tables', {
                hint: 'Run `chatbot-ops db init`: it creates them and counts the rows already there.',
              });
            for (const s of states) {
              const progress = s.ready
                ? 'ready'
                : `building: ${count(s.backfilled)} of ${count(s.backfillTo)} existing rows counted`;
              ctx.ui.info(`  ${s.table.padEnd(18)} ${progress}`);
            }
            if (opts.percentiles) {
              const spinner = ctx.ui.spinner('counting response times per day and path');
              const built = await buildResponseTimes(pool, {
                onProgress: (p) =>
                  spinner.text(`counting response times of ${p.day} (${p.index + 1} of ${p.days} days)`),
              });
              spinner.succeed(
                built.days === 0
                  ? 'response times per day are up to date'
                  : `counted response times of ${count(built.paths)} busy paths over ${count(built.days)} days`,
              );
              if (!opts.verify && !opts.repair) {
                ctx.ui.result({ target: describeDbTarget(target), tables: states, percentiles: built });
                return;
              }
            }
            if (!opts.verify && !opts.repair) {
              ctx.ui.result({ target: describeDbTarget(target), tables: states });
              return;
            }
            if (states.some((s) => !s.ready))
              throw new UserError('the rollups are still being built from existing rows', {
                hint: 'Run `chatbot-ops db init` to finish building them, then verify.',
              });
            const spinner = ctx.ui.spinner('recounting from access_logs');
            const report = await verifyRollups(pool, {
              ...(since ? { since } : {}),
              ...(until ? { until } : {}),
              repair: opts.repair ?? false,
              onProgress: (p) => spinner.text(`recounting ${p.day} (${p.index + 1} of ${p.days} days)`),
            });
            const days = `${count(report.days.length)} day${report.days.length === 1 ? '' : 's'}`;
            if (report.differences === 0) spinner.succeed(`rollups match access_logs over ${days}`);
            else if (opts.repair)
              spinner.succeed(
                `repaired ${count(report.repaired.length)} of ${days}: ${count(report.differences)} rollup rows differed`,
              );
            else
              spinner.fail(`${count(report.differences)} rollup rows differ from access_logs over ${days}`);
            for (const e of report.examples)
              ctx.ui.warn(`  ${e.table} ${e.grain} ${e.bucket} ${JSON.stringify(e.key)}: ${e.kind}`);
            if (report.differences > report.examples.length)
              ctx.ui.warn(`  ... and ${count(report.differences - report.examples.length)} more`);
            if (report.differingDays.length > 0) ctx.ui.info(`days: ${report.differingDays.join(', ')}`);
            ctx.ui.result({ target: describeDbTarget(target), ...report });
            if (report.differences > 0 && !opts.repair)
              throw new UserError('the rollups differ from access_logs', {
                hint: 'Run the same command with --repair to rebuild those days from access_logs.',
              });
          } finally {
            await pool.end();
          }
        },
      ),
    );

  withDbFlags(db.command('prune'))
    .description('delete access logs (and their rollups) older than a number of days, in small batches')
    .option('--older-than <days>', 'age in whole days, such as 90d or 12w (default: database.retentionDays)')
    .option('--batch-size <n>', 'rows per DELETE', String(PRUNE_BATCH_ROWS))
    .option('--dry-run', 'count what would be deleted, delete nothing', false)
    .action(
      run(async (ctx, opts: DbFlags & { olderThan?: string; batchSize: string; dryRun: boolean }) => {
        const configured = opts.olderThan === undefined ? ctx.config().database.retentionDays : undefined;
        if (opts.olderThan === undefined && configured === undefined)
          throw new UsageError(
            'db prune needs --older-than (or database.retentionDays in the config)',
            'For example: chatbot-ops db prune --older-than 90d',
          );
        const days = configured ?? parseRetention(opts.olderThan as string);
        const batchRows = assertInteger(opts.batchSize, '--batch-size', 1, 1_000_000);
        const target = resolveDbTarget(ctx, opts, { localDb: runningLocalDatabase() });
        const pool = await openPool(target);
        const spinner = ctx.ui.spinner(
          `pruning rows older than ${days} days from ${describeDbTarget(target)}`,
        );
        const started = Date.now();
        try {
          const report = await pruneAccessLogs(pool, {
            olderThanDays: days,
            batchRows,
            dryRun: opts.dryRun,
            onProgress: (p) =>
              spinner.text(
                p.phase === 'rows'
                  ? `pruning: ${count(p.rows)} rows deleted`
                  : `pruning: ${count(p.rows)} rows, ${count(p.rollupRows)} rollup rows deleted`,
              ),
          });
          const seconds = (Date.now() - started) / 1000;
          if (report.dryRun)
            spinner.succeed(`would delete ${count(report.rows)} rows from before ${report.cutoff} (dry run)`);
          else
            spinner.succeed(
              `deleted ${count(report.rows)} rows from before ${report.cutoff} and ${count(report.rollupRows)} rollup rows in ${seconds.toFixed(1)} s`,
            );
          ctx.ui.result({ target: describeDbTarget(target), days, ...report, seconds });
        } catch (err) {
          spinner.fail('prune stopped; run it again to finish (what was deleted stays deleted)');
          throw missingTableError(err);
        } finally {
          await pool.end();
        }
      }),
    );
};
