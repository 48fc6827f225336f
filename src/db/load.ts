/**
 * `db load`: stream access logs into access_logs.
 *
 * Each file is hashed, then read as a stream (plain or gzip, told apart by its first bytes),
 * parsed line by line, and written in batches (LOAD DATA LOCAL from memory, multi-row INSERTs
 * when the server refuses that) inside ONE transaction per input, together with a load_history
 * row keyed by the SHA-256 of the input's text (after gunzip) and the input's rollup deltas
 * (rollup-writer.ts). So an input is either wholly loaded, counted and recorded, or not at all:
 * a re-run after a failure loads it again from scratch, and a re-run after success skips it
 * ("already loaded") unless `force` is set. Memory stays bounded:
 * at most five batches (four sent, one being parsed), the rollup deltas and a few buffered lines are held at any time.
 */
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type mysql from 'mysql2/promise';
import { UserError } from '../errors.js';
import { type AccessLogRow, insertAccessLogRows, rowSqlBytes } from './access-log-row.js';
import { LineSplitter, MAX_LINE_BYTES, OVERLONG, type SplitLine } from './line-splitter.js';
import { isLocalInfileRefused, loadDataRows } from './load-data.js';
import { createLineParser, FormatDetector, type LineParser, type LogFormat } from './log-formats.js';
import { RollupDeltas } from './rollup-writer.js';
import { StatementPipe } from './statement-pipe.js';

/**
 * An input that is not a local path: a stream opened when its turn comes (the ingest function
 * passes an S3 object's body). Its hash is only known once it has been read, as for stdin.
 */
export interface StreamInput {
  /** How the report and load_history name it, such as s3://bucket/key. */
  label: string;
  open: () => Promise<AsyncIterable<Buffer | string>>;
  /** Its size in bytes, when known (progress). */
  size?: number;
}

export interface LoadOptions {
  format?: 'auto' | LogFormat;
  /** Stop (and roll back the current input) once more than this many bad lines were seen in the run. */
  maxErrors?: number;
  /** Rows per statement (default 2,000). */
  batchSize?: number;
  /** 'load-data' (default): LOAD DATA LOCAL INFILE, falling back to INSERT when refused; 'insert': INSERTs only. */
  method?: 'load-data' | 'insert';
  /** Load inputs even when load_history says they were loaded before. */
  force?: boolean;
  /** Where '-' reads from (default process.stdin); tests pass their own stream. */
  stdin?: NodeJS.ReadableStream;
  onProgress?: (p: { file: string; lines: number; bytes: number; totalBytes?: number }) => void;
  /**
   * Stops the load (rolling back the input being read) when aborted; the reason, a UserError,
   * is what the load throws. The ingest function aborts before its time budget runs out.
   */
  signal?: AbortSignal;
}

export interface LoadedFile {
  file: string;
  lines: number;
  loaded: number;
  /** True when the input was skipped because load_history already had it. */
  skipped?: boolean;
  errors: number;
  /** Rows whose path or a text field was cut to fit its column. */
  truncated?: number;
  format?: LogFormat;
  sha256?: string;
}

export interface LoadReport {
  files: LoadedFile[];
  loaded: number;
  errors: number;
  firstErrors: { file: string; line: number; reason: string; text: string }[];
}

/** How many bad lines the report keeps (with their text); the rest are only counted. */
export const FIRST_ERRORS_KEPT = 10;
const DEFAULT_BATCH_ROWS = 2_000;
/** Keep one INSERT well under MariaDB's default 16 MB max_allowed_packet whatever the line lengths. */
const BATCH_MAX_BYTES = 4 * 1024 * 1024;
/** Auto-detection looks at this many parseable lines (or gives up after LOOKAHEAD_MAX_LINES). */
const DETECT_GOOD_LINES = 20;
const LOOKAHEAD_MAX_LINES = 200;
const PROGRESS_EVERY_LINES = 20_000;
/**
 * Statements in flight on the load's connection: the server has the next batch (or rollup
 * statement) as soon as it finishes one, while this process formats the ones after. Four rather
 * than two: on a busy 2-core machine the 1,000,000-line file loaded in 42 s against 51-68 s
 * (docs/performance.md), for about 2 MB more held.
 */
const PIPE_DEPTH = 4;
/** 1 MiB reads instead of 64 KiB: a sixteenth of the calls and promise hops for a large log. */
const READ_OPTIONS = { highWaterMark: 1024 * 1024 };
const ERROR_TEXT_MAX = 200;

/** Binary data is looked for in this much of the start of an input's text. */
const BINARY_SNIFF_BYTES = 8192;
/**
 * Past this share of control bytes (other than tab, CR, LF) the input is binary. Random or
 * compressed bytes (an image, an archive) have about 11%; a text log with a stray NUL or escape in
 * a line has a fraction of a percent.
 */
const BINARY_CONTROL_SHARE = 0.05;

/** Decides, on the first BINARY_SNIFF_BYTES of an input's text, whether it is binary, and refuses it then. */
class BinarySniffer {
  private seen = 0;
  private control = 0;
  private decided = false;

  constructor(private readonly label: string) {}

  look(chunk: Buffer): void {
    if (this.decided) return;
    const end = Math.min(chunk.length, BINARY_SNIFF_BYTES - this.seen);
    for (let i = 0; i < end; i++) {
      const b = chunk[i] as number;
      if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) this.control++;
    }
    this.seen += end;
    if (this.seen >= BINARY_SNIFF_BYTES) this.end();
  }

  /** The input ended (or the sample is full): decide on what was seen. */
  end(): void {
    if (this.decided) return;
    this.decided = true;
    if (this.seen > 0 && this.control / this.seen > BINARY_CONTROL_SHARE) {
      throw new UserError(
        `${this.label} is not a text log (binary data: ${Math.round((this.control / this.seen) * 100)}% control bytes in its first ${this.seen.toLocaleString('en-US')} bytes); nothing from it was loaded`,
        { hint: 'Load access-log files only (plain text or gzip).' },
      );
    }
  }
}

/** The run was stopped by --max-errors; carries what was done before the stop. */
export class LoadStoppedError extends UserError {
  readonly report: LoadReport;
  constructor(message: string, hint: string, report: LoadReport) {
    super(message, { hint });
    this.report = report;
  }
}

/** SHA-256 of a file's log text (after gunzip), so a log and its gzipped copy count as the same input. */
export async function sha256OfLogFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of await openInput(createReadStream(path, READ_OPTIONS), () => {}))
    hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * The input as text bytes: raw chunks pass `onRawBytes` (hashing, progress), then go through
 * gunzip when they start with gzip's magic bytes (1f 8b), whatever the file is called.
 */
async function openInput(
  source: AsyncIterable<Buffer | string>,
  onRawBytes: (chunk: Buffer) => void,
): Promise<Readable> {
  const raw = (async function* () {
    for await (const chunk of source) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      onRawBytes(buf);
      yield buf;
    }
  })();
  const first = await raw.next();
  const all = Readable.from(
    (async function* () {
      if (first.done) return;
      yield first.value;
      yield* raw;
    })(),
    { objectMode: false },
  );
  const gzip = !first.done && first.value.length >= 2 && first.value[0] === 0x1f && first.value[1] === 0x8b;
  if (!gzip) return all;
  // pipeline (not pipe) so a read error reaches the gunzip stream, and from there the line reader.
  return pipeline(all, createGunzip(), () => {});
}

function summarise(files: LoadedFile[], firstErrors: LoadReport['firstErrors']): LoadReport {
  return {
    files,
    loaded: files.reduce((n, f) => n + f.loaded, 0),
    errors: files.reduce((n, f) => n + f.errors, 0),
    firstErrors,
  };
}

/**
 * Load access-log files (paths, or '-' for standard input) into access_logs. Bad lines are
 * counted and the first few kept with file, line number and reason; they never stop the load
 * unless `maxErrors` is exceeded, which rolls back the input being read and throws
 * LoadStoppedError (inputs finished before it stay loaded and recorded).
 */
export async function loadLogs(
  pool: mysql.Pool,
  inputs: (string | StreamInput)[],
  options: LoadOptions = {},
): Promise<LoadReport> {
  if (inputs.filter((i) => i === '-').length > 1)
    throw new UserError("'-' (standard input) can be given only once", { exitCode: 2 });
  const batchSize = options.batchSize ?? DEFAULT_BATCH_ROWS;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new UserError('batch size must be a whole number >= 1', { exitCode: 2 });
  const files: LoadedFile[] = [];
  const firstErrors: LoadReport['firstErrors'] = [];
  let runErrors = 0;
  // LOAD DATA LOCAL while the server takes it; multi-row INSERTs from the first refusal on
  // (a refused statement writes nothing, so the same batch is simply sent again as an INSERT).
  let viaLoadData = options.method !== 'insert';
  const writeRows = async (conn: mysql.PoolConnection, rows: AccessLogRow[]) => {
    if (viaLoadData) {
      try {
        return await loadDataRows(conn, rows);
      } catch (err) {
        if (!isLocalInfileRefused(err)) throw err;
        viaLoadData = false;
      }
    }
    await insertAccessLogRows(conn, rows);
  };

  // Every path is checked before anything is loaded, so a typo in the last name does not leave
  // the first files loaded and the command half done.
  const sizes = new Map<string, number>();
  for (const input of inputs)
    if (typeof input === 'string' && input !== '-') sizes.set(input, fileSize(input));

  for (const input of inputs) {
    const isStdin = input === '-';
    const isFile = typeof input === 'string' && !isStdin;
    const label = typeof input !== 'string' ? input.label : isStdin ? '(stdin)' : input;
    const totalBytes = typeof input === 'string' ? sizes.get(input) : input.size;

    // A file's hash is known before reading it for real, so a loaded file is skipped without work.
    const knownSha = !isFile
      ? undefined
      : await sha256OfLogFile(input).catch((err) => Promise.reject(inputError(err, label)));
    if (knownSha && !options.force && (await loadedBefore(pool, knownSha))) {
      files.push({ file: label, lines: 0, loaded: 0, errors: 0, skipped: true, sha256: knownSha });
      continue;
    }

    const entry: LoadedFile = { file: label, lines: 0, loaded: 0, errors: 0 };
    const conn = await pool.getConnection();
    try {
      // Autocommit off for the input, not only START TRANSACTION: when a statement loses a deadlock,
      // InnoDB rolls the whole transaction back, and a statement already queued behind it in the
      // pipe would then run and commit on its own. With autocommit off it opens a new transaction,
      // which the ROLLBACK that follows the failure ends.
      await conn.query('SET autocommit = 0');
      await conn.query('START TRANSACTION');
      const rollups = await RollupDeltas.start(conn);
      const hash = createHash('sha256');
      let rawBytes = 0;
      const source =
        typeof input !== 'string'
          ? await input.open()
          : isStdin
            ? (options.stdin ?? process.stdin)
            : createReadStream(input, READ_OPTIONS);
      const decoded = await openInput(source as AsyncIterable<Buffer>, (chunk) => {
        rawBytes += chunk.length;
      });
      const splitter = new LineSplitter();

      let format: LogFormat | undefined =
        options.format === 'auto' || options.format === undefined ? undefined : options.format;
      // A format the user named (not one detected) also takes what only that format allows.
      const formatChosen = format !== undefined;
      let parser: LineParser | undefined =
        format === undefined ? undefined : createLineParser(format, { formatChosen });
      const detector = new FormatDetector();
      let pending: { no: number; text: string }[] = [];
      let batch: AccessLogRow[] = [];
      let batchBytes = 0;
      let truncated = 0;
      const pipe = new StatementPipe(PIPE_DEPTH);

      const flush = async () => {
        if (batch.length === 0) return;
        const rows = batch;
        batch = [];
        batchBytes = 0;
        // The batch is formatted now and queued behind the statements in flight; the next batch is
        // parsed while the server writes this one. Waiting for a slot bounds memory.
        await pipe.send(() => writeRows(conn, rows));
        rollups.add(rows);
        if (rollups.full) await rollups.flushFull(conn, pipe);
        entry.loaded += rows.length;
      };

      const bad = (no: number, reason: string, text: string) => {
        entry.errors++;
        runErrors++;
        if (firstErrors.length < FIRST_ERRORS_KEPT) {
          firstErrors.push({ file: label, line: no, reason, text: text.slice(0, ERROR_TEXT_MAX) });
        }
        if (options.maxErrors !== undefined && runErrors > options.maxErrors) {
          throw new LoadStoppedError(
            `stopped: more than ${options.maxErrors} bad line${options.maxErrors === 1 ? '' : 's'} (at ${label}:${no}); nothing from ${label} was loaded`,
            `Fix or remove the bad lines, or raise --max-errors. Inputs finished before ${label} stay loaded; a re-run skips them.`,
            summarise([...files, entry], firstErrors),
          );
        }
      };

      /** Parse one line into the batch (synchronous; the caller flushes a full batch). */
      const take = (no: number, line: string) => {
        const parsed = (parser as LineParser).parse(line);
        // A header line (CloudFront's #Fields) is neither a row nor an error.
        if (parsed === undefined) return;
        if (!parsed.ok) return bad(no, parsed.reason, line);
        if (parsed.truncated) truncated++;
        batch.push(parsed.row);
        batchBytes += rowSqlBytes(parsed.row);
      };
      const batchFull = () => batch.length >= batchSize || batchBytes >= BATCH_MAX_BYTES;

      /** Auto-detection: the format most of the first parseable lines have (see FormatDetector). */
      const decide = async () => {
        format = detector.decide();
        parser = createLineParser(format);
        const buffered = pending;
        pending = [];
        for (const p of buffered) {
          take(p.no, p.text);
          if (batchFull()) await flush();
        }
      };

      let no = 0;
      const handle = async (lines: SplitLine[]) => {
        for (const line of lines) {
          no++;
          entry.lines = no;
          if (line === OVERLONG) {
            bad(no, `line longer than ${MAX_LINE_BYTES / 1024 / 1024} MB (not a log line?)`, '');
          } else if (line.length === 0 || line.trim() === '') {
            // blank lines are neither rows nor errors
          } else if (format === undefined) {
            pending.push({ no, text: line });
            detector.add(line);
            if (detector.goodLines >= DETECT_GOOD_LINES || pending.length >= LOOKAHEAD_MAX_LINES)
              await decide();
          } else {
            take(no, line);
            if (batchFull()) await flush();
          }
          if (no % PROGRESS_EVERY_LINES === 0) {
            options.onProgress?.({
              file: label,
              lines: no,
              bytes: rawBytes,
              ...(totalBytes === undefined ? {} : { totalBytes }),
            });
          }
        }
      };
      const sniff = new BinarySniffer(label);
      for await (const chunk of decoded) {
        const buf = chunk as Buffer;
        sniff.look(buf);
        options.signal?.throwIfAborted();
        hash.update(buf);
        await handle(splitter.push(buf));
      }
      sniff.end();
      await handle(splitter.end());
      if (format === undefined) await decide();
      await flush();
      await pipe.drain();
      entry.format = format;
      if (truncated > 0) entry.truncated = truncated;
      options.onProgress?.({
        file: label,
        lines: no,
        bytes: rawBytes,
        ...(totalBytes === undefined ? {} : { totalBytes }),
      });

      const sha = hash.digest('hex');
      entry.sha256 = sha;
      if (knownSha !== undefined && sha !== knownSha) {
        throw new UserError(`${label} changed while it was being loaded; nothing from it was loaded`, {
          hint: 'Load a file that is no longer being written (rotate the log first), or pipe it through stdin.',
        });
      }
      // Standard input's hash is known only now: an input loaded before is rolled back, not duplicated.
      if (!options.force && (await loadedBefore(conn, sha))) {
        await conn.query('ROLLBACK');
        files.push({ file: label, lines: entry.lines, loaded: 0, errors: 0, skipped: true, sha256: sha });
        continue;
      }
      await rollups.flush(conn, pipe);
      await pipe.drain();
      if (entry.loaded > 0 && !(await recordLoad(conn, entry, label, rawBytes, options.force ?? false))) {
        // The same content was committed by another load meanwhile (S3 delivers an event twice,
        // or the same log was uploaded under two names and both loads ran at once).
        await conn.query('ROLLBACK');
        files.push({ file: label, lines: entry.lines, loaded: 0, errors: 0, skipped: true, sha256: sha });
        continue;
      }
      await conn.query('COMMIT');
      files.push(entry);
    } catch (err) {
      await conn.query('ROLLBACK').catch(() => {});
      if (err instanceof LoadStoppedError) throw err;
      if (err instanceof UserError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR') {
        throw new UserError(`${label} is not valid gzip (${code}); nothing from it was loaded`, {
          cause: err,
        });
      }
      if (code === 'ER_LOCK_DEADLOCK') {
        // Two loads counting into the same rollup rows: InnoDB rolled this one back whole.
        throw new UserError(
          `${label} met another load updating the same rollup rows; nothing from it was loaded`,
          {
            hint: 'Run the same command again: files already loaded are skipped.',
            cause: err,
          },
        );
      }
      if (code === 'ER_NO_SUCH_TABLE') {
        throw new UserError('the access_logs table does not exist', {
          hint: 'Create it with `chatbot-ops db init`.',
          cause: err,
        });
      }
      throw inputError(err, label);
    } finally {
      // A connection that cannot be put back as the pool hands them out (autocommit on) is closed.
      await conn.query('SET autocommit = 1').then(
        () => conn.release(),
        () => conn.destroy(),
      );
    }
  }
  return summarise(files, firstErrors);
}

/** The size of a file to load; a missing path, a directory or an unreadable file is a UserError naming it. */
function fileSize(input: string): number {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(input);
  } catch (err) {
    throw new UserError(`cannot read ${input} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, {
      exitCode: 2,
      hint: 'Check the path; use - to read from standard input.',
    });
  }
  if (!st.isFile()) throw new UserError(`${input} is not a file`, { exitCode: 2 });
  return st.size;
}

/** Reading problems of an input as UserErrors; anything else unchanged. */
function inputError(err: unknown, label: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR') {
    return new UserError(
      `${label} is not valid gzip (${(err as Error).message}); nothing from it was loaded`,
      { cause: err },
    );
  }
  if (code === 'EACCES' || code === 'EISDIR' || code === 'ENOENT') {
    return new UserError(`cannot read ${label} (${code})`, { cause: err, exitCode: 2 });
  }
  return err;
}

/**
 * Write the input's load_history row in its transaction. Without `force` it is a plain INSERT:
 * the primary key makes a second load of the same content that ran at the same time wait for the
 * first to commit and then fail with a duplicate key, which is how two concurrent loads of one
 * content never both commit (a SELECT inside the transaction would not see the other's row).
 * Returns false when the content was already recorded.
 */
async function recordLoad(
  conn: mysql.PoolConnection,
  entry: LoadedFile,
  label: string,
  rawBytes: number,
  force: boolean,
): Promise<boolean> {
  const values = [entry.sha256, label.slice(0, 1024), rawBytes, entry.lines, entry.loaded, entry.errors];
  const insert = `INSERT INTO load_history (sha256, source, bytes, \`lines\`, loaded, errors, loaded_at)
     VALUES (?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(3))`;
  if (force) {
    await conn.query(
      `${insert} ON DUPLICATE KEY UPDATE source = VALUES(source), bytes = VALUES(bytes), \`lines\` = VALUES(\`lines\`),
         loaded = VALUES(loaded), errors = VALUES(errors), loaded_at = VALUES(loaded_at)`,
      values,
    );
    return true;
  }
  try {
    await conn.query(insert, values);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === 'ER_DUP_ENTRY') return false;
    throw err;
  }
}

async function loadedBefore(conn: Pick<mysql.Connection, 'query'>, sha: string): Promise<boolean> {
  try {
    const [rows] = await conn.query('SELECT 1 FROM load_history WHERE sha256 = ?', [sha]);
    return (rows as unknown[]).length > 0;
  } catch (err) {
    if ((err as { code?: string }).code === 'ER_NO_SUCH_TABLE') {
      throw new UserError('the load_history table does not exist (the database predates this version)', {
        hint: 'Run `chatbot-ops db init`: it adds what is missing and leaves your data alone.',
        cause: err,
      });
    }
    throw err;
  }
}
