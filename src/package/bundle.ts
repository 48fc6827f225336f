/**
 * `chatbot-ops package` (guide step 3, "Package the Lambda function"): src/lambda bundled by esbuild into one
 * `lambda_function.js` and zipped by archiver into `lambda_function.zip`, byte-for-byte reproducible so its
 * SHA-256 (Lambda's CodeSha256) only changes when the code does.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import archiver from 'archiver';
import { type BuildOptions, build, type Metafile, type OutputFile, type Plugin } from 'esbuild';
import { UserError } from '../errors.js';

/** The package built in memory: the zip, its source maps, sizes and hashes. */
export interface BundledZip {
  zip: Buffer;
  /** lambda_function.js.map and ingest_function.js.map, kept beside the zip when it is written (not in it). */
  sourceMaps: { name: string; content: Uint8Array }[];
  sizeBytes: number;
  unzippedBytes: number;
  /** Base64 SHA-256 of the zip: what Lambda reports as CodeSha256. */
  sha256Base64: string;
  sha256Hex: string;
  buildMs: number;
  warnings: string[];
}

/** The package written to disk: as BundledZip, and where the zip is. */
export interface LambdaZip extends BundledZip {
  zipPath: string;
}

/** Lambda's limits for a deployment package uploaded directly (not through S3), and for the unzipped code. */
export const ZIPPED_LIMIT_BYTES = 50 * 1024 * 1024;
export const UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024;

/** The file name inside the zip; the handler setting `lambda_function.lambda_handler` depends on it. */
export const BUNDLE_FILE = 'lambda_function.js';
export const ZIP_FILE = 'lambda_function.zip';
/**
 * The ingest function's file in the same zip (handler `ingest_function.handler`). One zip for both
 * functions: one artifact and one CodeSha256 to build, upload and compare; the vendor/ driver files
 * are shared; and the parser and schema the ingest function writes with always match the queries
 * the API function reads with, because they ship together.
 */
export const INGEST_BUNDLE_FILE = 'ingest_function.js';
export const INGEST_HANDLER = 'ingest_function.handler';

/** Every entry gets this time: the earliest a zip (DOS) timestamp can hold, so builds never differ by clock. */
const FIXED_TIME = new Date('1980-01-01T00:00:00Z');

/** The project root: two levels above this module, both from src/package (tsx) and build/package (compiled). */
const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Check a package's sizes against Lambda's limits. Returns nothing when it fits; throws the UserError the
 * user sees otherwise. Pure, so the limit logic is tested without building a 50 MB zip.
 */
export function checkPackageLimits(sizes: { zippedBytes: number; unzippedBytes: number }): void {
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
  if (sizes.unzippedBytes > UNZIPPED_LIMIT_BYTES) {
    throw new UserError(
      `the unzipped package is ${mb(sizes.unzippedBytes)}, over Lambda's 250 MB limit for unzipped code`,
      {
        hint: 'Move large dependencies to a Lambda layer or trim them; the limit also applies when uploading through S3.',
      },
    );
  }
  if (sizes.zippedBytes > ZIPPED_LIMIT_BYTES) {
    throw new UserError(
      `the zip is ${mb(sizes.zippedBytes)}, over Lambda's 50 MB limit for a direct upload`,
      {
        hint: 'Upload the zip to an S3 bucket (aws s3 cp) and create the function from it (--code S3Bucket=...,S3Key=...).',
      },
    );
  }
}

/**
 * Dependencies the nodejs runtime already ships: bundling them only makes the zip bigger and can shadow the
 * runtime's patched copy. Returns one warning per package found in the bundle's inputs.
 */
export function runtimeProvidedWarnings(inputs: string[]): string[] {
  const found = new Set<string>();
  for (const path of inputs) {
    const match = /node_modules\/(@aws-sdk\/[^/]+|@smithy\/[^/]+|@aws-crypto\/[^/]+)/.exec(path);
    if (match?.[1]) found.add(match[1]);
  }
  return [...found]
    .sort()
    .map(
      (pkg) =>
        `${pkg} is bundled, but the Lambda Node.js runtime already provides it (import it from @aws-sdk/* so it stays external)`,
    );
}

/** Zip the given files with fixed timestamps, modes and order, so identical content gives identical bytes. */
export async function reproducibleZip(files: { name: string; content: Buffer }[]): Promise<Buffer> {
  const archive = archiver('zip', { zlib: { level: 9 } });
  const chunks: Buffer[] = [];
  archive.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<void>((resolveDone, reject) => {
    archive.on('end', () => resolveDone());
    archive.on('error', reject);
    archive.on('warning', reject);
  });
  for (const file of [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    archive.append(file.content, { name: file.name, date: FIXED_TIME, mode: 0o644 });
  }
  await archive.finalize();
  await done;
  return Buffer.concat(chunks);
}

function bundleFailed(what: string, err: unknown): UserError {
  const first = (err as { errors?: { text: string; location?: { file: string; line: number } | null }[] })
    .errors?.[0];
  return new UserError(
    `bundling ${what} failed${first ? `: ${first.text}${first.location ? ` (${first.location.file}:${first.location.line})` : ''}` : ''}`,
    { hint: 'Fix the error above in src/lambda, then run `chatbot-ops package` again.', cause: err },
  );
}

/**
 * iconv-lite's double-byte charset tables (Shift JIS, GBK, Big5, EUC-KR...) are 40% of the driver's size and
 * are only loaded when a connection decodes such a charset. The function's connection is utf8mb4, so they
 * stay out of the zip; a require of one fails with this message instead of decoding wrongly.
 */
const omitCharsetTables: Plugin = {
  name: 'omit-charset-tables',
  setup(b) {
    b.onResolve({ filter: /[\\/]tables[\\/][^/\\]+\.json$/ }, (args) =>
      /[\\/]iconv-lite[\\/]/.test(args.importer)
        ? { path: args.path, namespace: 'omitted-charset-table' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'omitted-charset-table' }, () => ({
      contents:
        'throw new Error("this character set is not in the Lambda bundle: the backend connects with utf8mb4");',
      loader: 'js',
    }));
  },
};

/** esbuild settings shared by the handler and its lazily loaded dependencies. */
const COMMON: BuildOptions & { metafile: true; write: false } = {
  bundle: true,
  // CommonJS so `lambda_function.lambda_handler` loads without a package.json declaring a module type.
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  minify: true,
  // The runtime ships the AWS SDK v3; the handler only imports it lazily when DB_SECRET_ARN is set.
  external: ['@aws-sdk/*'],
  legalComments: 'none',
  metafile: true,
  write: false,
  logLevel: 'silent',
};

/** `vendor/<name>.js` for a package specifier such as `mysql2/promise`. */
export function vendorFile(specifier: string): string {
  return `vendor/${specifier.replace(/^@/, '').replace(/[^A-Za-z0-9._-]+/g, '-')}.js`;
}

/**
 * Bundle src/lambda/index.ts (and src/ingest/index.ts beside it) and zip them, in memory: nothing is
 * written (deploy and status need only the bytes and the hash, and the CLI's own folder may be
 * read-only). `buildLambdaZip` writes it.
 *
 * Packages the handler imports with `await import()` (mysql2, the RDS certificate set) go into their own
 * files under vendor/, required on first use: Node parses every byte of a file it loads, so keeping
 * 1 MB of driver code out of lambda_function.js keeps it out of the init phase, while the first request
 * loads it from the same zip. The source map goes beside the zip (for reading stack traces), not into it.
 */
export async function bundleLambdaZip(options: { root?: string } = {}): Promise<BundledZip> {
  const started = performance.now();
  const root = resolve(options.root ?? PROJECT_ROOT);
  // Only names the outputs for esbuild (write: false): nothing is written there.
  const outDir = join(root, 'dist');
  const lazy = new Set<string>();
  const entries: { entry: string; file: string; define: Record<string, string> }[] = [
    { entry: join(root, 'src', 'lambda', 'index.ts'), file: BUNDLE_FILE, define: {} },
    {
      entry: join(root, 'src', 'ingest', 'index.ts'),
      file: INGEST_BUNDLE_FILE,
      // The function has no templates/ folder: the schema travels inside its code (src/ingest/schema-text.ts).
      define: {
        CHATBOT_OPS_SCHEMA_SQL: JSON.stringify(readFileSync(join(root, 'templates', 'schema.sql'), 'utf8')),
        // readSchemaSql (src/db/schema.ts) is the only reader of import.meta.url in this bundle, and
        // the define above means it is never called; this keeps esbuild's CommonJS warning away.
        'import.meta.url': JSON.stringify('file:///var/task/ingest_function.js'),
      },
    },
  ];
  const files: { name: string; content: Buffer }[] = [];
  const maps: { name: string; content: Uint8Array }[] = [];
  const inputs: string[] = [];
  const esbuildWarnings: string[] = [];
  for (const { entry, file, define } of entries) {
    let result: { metafile: Metafile; outputFiles: OutputFile[]; warnings: { text: string }[] };
    try {
      result = await build({
        ...COMMON,
        entryPoints: [entry],
        absWorkingDir: root,
        outfile: join(outDir, file),
        define,
        sourcemap: 'external',
        // import() of a vendor file becomes require(), so it resolves beside lambda_function.js in /var/task.
        supported: { 'dynamic-import': false },
        plugins: [
          omitCharsetTables,
          {
            name: 'lazy-packages',
            setup(b) {
              b.onResolve({ filter: /^[^./]/ }, (args) => {
                if (
                  args.kind !== 'dynamic-import' ||
                  args.path.startsWith('node:') ||
                  args.path.startsWith('@aws-sdk/')
                ) {
                  return undefined;
                }
                lazy.add(args.path);
                return { path: `./${vendorFile(args.path)}`, external: true };
              });
            },
          },
        ],
      });
    } catch (err) {
      throw bundleFailed(entry, err);
    }
    const code = result.outputFiles.find((f) => f.path.endsWith('.js'));
    const map = result.outputFiles.find((f) => f.path.endsWith('.map'));
    if (!code) throw new UserError('esbuild produced no JavaScript output');
    files.push({ name: file, content: Buffer.from(code.contents) });
    if (map) maps.push({ name: `${file}.map`, content: map.contents });
    inputs.push(...Object.keys(result.metafile.inputs));
    esbuildWarnings.push(...result.warnings.map((w) => `esbuild (${file}): ${w.text}`));
  }

  for (const specifier of [...lazy].sort()) {
    const name = vendorFile(specifier);
    try {
      const vendor = await build({
        ...COMMON,
        stdin: {
          contents: `module.exports = require(${JSON.stringify(specifier)});`,
          resolveDir: join(root, 'src', 'lambda'),
        },
        absWorkingDir: root,
        outfile: join(outDir, name),
        plugins: [
          omitCharsetTables,
          {
            // A vendor package that needs another one (mysql2 needs the RDS certificates) shares its file.
            name: 'shared-vendor-files',
            setup(b) {
              b.onResolve({ filter: /^[^./]/ }, (args) =>
                lazy.has(args.path) && args.path !== specifier && args.kind !== 'entry-point'
                  ? { path: `./${vendorFile(args.path).slice('vendor/'.length)}`, external: true }
                  : undefined,
              );
            },
          },
        ],
      });
      const out = vendor.outputFiles?.find((f) => f.path.endsWith('.js'));
      if (out) files.push({ name, content: Buffer.from(out.contents) });
      inputs.push(...Object.keys(vendor.metafile?.inputs ?? {}));
      esbuildWarnings.push(...vendor.warnings.map((w) => `esbuild (${specifier}): ${w.text}`));
    } catch (err) {
      throw bundleFailed(specifier, err);
    }
  }

  const unzippedBytes = files.reduce((n, f) => n + f.content.length, 0);
  const zip = await reproducibleZip(files);
  checkPackageLimits({ zippedBytes: zip.length, unzippedBytes });

  return {
    zip,
    sourceMaps: maps,
    sizeBytes: zip.length,
    unzippedBytes,
    sha256Base64: createHash('sha256').update(zip).digest('base64'),
    sha256Hex: createHash('sha256').update(zip).digest('hex'),
    buildMs: Math.round(performance.now() - started),
    warnings: [...esbuildWarnings, ...runtimeProvidedWarnings(inputs)],
  };
}

/**
 * Bundle and write `lambda_function.zip` (and its source map) into `outDir`: default `dist/` under
 * the project root; `chatbot-ops package` passes the folder it was run in.
 */
export async function buildLambdaZip(options: { outDir?: string; root?: string } = {}): Promise<LambdaZip> {
  const bundled = await bundleLambdaZip(options.root ? { root: options.root } : {});
  const outDir = resolve(options.root ?? PROJECT_ROOT, options.outDir ?? 'dist');
  mkdirSync(outDir, { recursive: true });
  const zipPath = join(outDir, ZIP_FILE);
  writeFileSync(zipPath, bundled.zip);
  for (const map of bundled.sourceMaps) writeFileSync(join(outDir, map.name), map.content);
  return { ...bundled, zipPath };
}
