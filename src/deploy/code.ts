/** The function's code for a deploy: a zip the user names, or the package built from src/lambda. */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { UserError } from '../errors.js';
import { buildLambdaZip } from '../package/bundle.js';

/** A zip and its SHA-256 as Lambda reports it (`CodeSha256`, base64). */
export interface FunctionCode {
  zip: Buffer;
  sha256Base64: string;
}

export interface LoadedCode extends FunctionCode {
  /** Where it came from, for the plan header. */
  source: string;
  sizeBytes: number;
}

export async function loadFunctionCode(zipPath: string | undefined): Promise<LoadedCode> {
  if (zipPath) {
    let zip: Buffer;
    try {
      zip = await readFile(zipPath);
    } catch (err) {
      throw new UserError(`cannot read the zip ${zipPath}: ${(err as Error).message}`, {
        exitCode: 2,
        cause: err,
      });
    }
    return {
      zip,
      sha256Base64: createHash('sha256').update(zip).digest('base64'),
      source: zipPath,
      sizeBytes: zip.length,
    };
  }
  const built = await buildLambdaZip();
  return {
    zip: built.zip,
    sha256Base64: built.sha256Base64,
    source: built.zipPath,
    sizeBytes: built.sizeBytes,
  };
}
