/**
 * The function's code for a deploy or `status`: a zip the user names, or src/lambda packaged in
 * memory (never written into the CLI's own folder, which a global install may not let us write). When
 * the project folder holds the zip `chatbot-ops package` made (dist/lambda_function.zip), it is the
 * same bytes (the package is reproducible) and the plan says so; when it differs, a warning says how
 * to deploy that file instead.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { UserError } from '../errors.js';
import { bundleLambdaZip, ZIP_FILE } from '../package/bundle.js';

/** A zip and its SHA-256 as Lambda reports it (`CodeSha256`, base64). */
export interface FunctionCode {
  zip: Buffer;
  sha256Base64: string;
}

export interface LoadedCode extends FunctionCode {
  /** Where it came from, for the plan header. */
  source: string;
  sizeBytes: number;
  /** What the user should know about it (a package in dist/ that differs). */
  warnings: string[];
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('base64');

async function readZip(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new UserError(`cannot read the zip ${path}: ${(err as Error).message}`, {
      exitCode: 2,
      cause: err,
    });
  }
}

/** `zipPath` when given; else src/lambda packaged in memory, compared with `<projectDir>/dist/`'s zip. */
export async function loadFunctionCode(
  zipPath: string | undefined,
  projectDir: string = process.cwd(),
): Promise<LoadedCode> {
  if (zipPath) {
    const zip = await readZip(zipPath);
    return { zip, sha256Base64: sha256(zip), source: zipPath, sizeBytes: zip.length, warnings: [] };
  }
  const built = await bundleLambdaZip();
  const code = { zip: built.zip, sha256Base64: built.sha256Base64, sizeBytes: built.sizeBytes };
  const packaged = join(projectDir, 'dist', ZIP_FILE);
  if (!existsSync(packaged)) return { ...code, source: 'src/lambda (packaged in memory)', warnings: [] };
  const shown = relative(process.cwd(), packaged) || packaged;
  if (sha256(await readZip(packaged)) === built.sha256Base64)
    return { ...code, source: `${shown} (as \`chatbot-ops package\` made it)`, warnings: [] };
  return {
    ...code,
    source: 'src/lambda (packaged in memory)',
    warnings: [
      `${shown} differs from src/lambda as this chatbot-ops packages it (made by another version, or changed): deploying the fresh package; run \`chatbot-ops package\` to refresh ${shown}, or pass --zip ${shown} to deploy that file`,
    ],
  };
}
