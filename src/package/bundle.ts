/**
 * `chatbot-ops package` (guide step 3, "Package the Lambda function"): src/lambda bundled by esbuild into one
 * `lambda_function.js` and zipped by archiver into `lambda_function.zip`, byte-for-byte reproducible so its
 * SHA-256 (Lambda's CodeSha256) only changes when the code does.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import archiver from 'archiver';
import { build, type Metafile, type OutputFile } from 'esbuild';
import { UserError } from '../errors.js';

export interface LambdaZip {
  zipPath: string;
  zip: Buffer;
  sizeBytes: number;
  unzippedBytes: number;
  /** Base64 SHA-256 of the zip: what Lambda reports as CodeSha256. */
  sha256Base64: string;
  sha256Hex: string;
  buildMs: number;
  warnings: string[];
}

/** Lambda's limits for a deployment package uploaded directly (not through S3), and for the unzipped code. */
export const ZIPPED_LIMIT_BYTES = 50 * 1024 * 1024;
export const UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024;

/** The file name inside the zip; the handler setting `lambda_function.lambda_handler` depends on it. */
export const BUNDLE_FILE = 'lambda_function.js';
export const ZIP_FILE = 'lambda_function.zip';

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

/**
 * Bundle src/lambda/index.ts and zip it. Default output `dist/lambda_function.zip` under the project root.
 * The source map goes beside the zip (for reading stack traces), not into it: it would triple the upload
 * and the runtime would not use it without --enable-source-maps.
 */
export async function buildLambdaZip(options: { outDir?: string; root?: string } = {}): Promise<LambdaZip> {
  const started = performance.now();
  const root = resolve(options.root ?? PROJECT_ROOT);
  const outDir = resolve(root, options.outDir ?? 'dist');
  const entry = join(root, 'src', 'lambda', 'index.ts');
  let result: Awaited<ReturnType<typeof build>> & { metafile: Metafile; outputFiles: OutputFile[] };
  try {
    result = await build({
      entryPoints: [entry],
      absWorkingDir: root,
      outfile: join(outDir, BUNDLE_FILE),
      bundle: true,
      // CommonJS so `lambda_function.lambda_handler` loads without a package.json declaring a module type.
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      minify: true,
      // The runtime ships the AWS SDK v3; the handler only imports it lazily when DB_SECRET_ARN is set.
      external: ['@aws-sdk/*'],
      sourcemap: 'external',
      legalComments: 'none',
      metafile: true,
      write: false,
      logLevel: 'silent',
    });
  } catch (err) {
    const first = (err as { errors?: { text: string; location?: { file: string; line: number } | null }[] })
      .errors?.[0];
    throw new UserError(
      `bundling ${entry} failed${first ? `: ${first.text}${first.location ? ` (${first.location.file}:${first.location.line})` : ''}` : ''}`,
      { hint: 'Fix the error above in src/lambda, then run `chatbot-ops package` again.', cause: err },
    );
  }
  const code = result.outputFiles.find((f) => f.path.endsWith('.js'));
  const map = result.outputFiles.find((f) => f.path.endsWith('.map'));
  if (!code) throw new UserError('esbuild produced no JavaScript output');
  const content = Buffer.from(code.contents);
  const unzippedBytes = content.length;
  const zip = await reproducibleZip([{ name: BUNDLE_FILE, content }]);
  checkPackageLimits({ zippedBytes: zip.length, unzippedBytes });

  mkdirSync(outDir, { recursive: true });
  const zipPath = join(outDir, ZIP_FILE);
  writeFileSync(zipPath, zip);
  if (map) writeFileSync(join(outDir, `${BUNDLE_FILE}.map`), map.contents);

  const warnings = [
    ...result.warnings.map((w) => `esbuild: ${w.text}`),
    ...runtimeProvidedWarnings(Object.keys(result.metafile.inputs)),
  ];
  return {
    zipPath,
    zip,
    sizeBytes: zip.length,
    unzippedBytes,
    sha256Base64: createHash('sha256').update(zip).digest('base64'),
    sha256Hex: createHash('sha256').update(zip).digest('hex'),
    buildMs: Math.round(performance.now() - started),
    warnings,
  };
}
