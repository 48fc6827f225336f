/** `chatbot-ops package` through the real command parser: what it writes and what it tells the user. */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { recordingUi } from '../../src/cli/ui.js';

let outDir: string;

beforeAll(() => {
  outDir = mkdtempSync(join(tmpdir(), 'package-cmd-'));
});

afterAll(() => {
  rmSync(outDir, { recursive: true, force: true });
});

async function packageCommand(...flags: string[]) {
  const ui = recordingUi({ json: flags.includes('--json') });
  const code = await main(['node', 'chatbot-ops', ...flags, 'package', '--out-dir', outDir], { ui });
  return { code, ui };
}

describe('chatbot-ops package', () => {
  it('writes lambda_function.zip and prints its size, CodeSha256 (base64) and hex hash', async () => {
    const { code, ui } = await packageCommand();
    const zip = readFileSync(join(outDir, 'lambda_function.zip'));
    const digest = createHash('sha256').update(zip);
    const base64 = digest.copy().digest('base64');
    const hex = digest.digest('hex');
    expect(code).toBe(0);
    expect(ui.err.some((l) => l.startsWith(`✔ Packaged ${join(outDir, 'lambda_function.zip')}`))).toBe(true);
    expect(ui.out).toContain(`  CodeSha256:      ${base64}`);
    expect(ui.out).toContain(`  sha256 (hex):    ${hex}`);
    expect(ui.out).toContain(
      `  size:            ${(zip.length / 1024).toFixed(1)} KB zipped, ${(
        (ui.results[0] as { unzippedBytes: number }).unzippedBytes / 1024
      ).toFixed(1)} KB unzipped`,
    );
    expect(ui.out).toContain('  handler:         lambda_function.lambda_handler');
    // The source map is for reading stack traces; it stays beside the zip, not in it.
    expect(existsSync(join(outDir, 'lambda_function.js.map'))).toBe(true);
  });

  it('--json prints one document on stdout with the same hashes, and nothing else there', async () => {
    const first = readFileSync(join(outDir, 'lambda_function.zip'));
    const { code, ui } = await packageCommand('--json');
    expect(code).toBe(0);
    expect(ui.out).toHaveLength(1);
    const doc = JSON.parse(ui.out[0] as string);
    expect(doc).toMatchObject({
      zipPath: join(outDir, 'lambda_function.zip'),
      sizeBytes: first.length,
      sha256Base64: createHash('sha256').update(first).digest('base64'),
      sha256Hex: createHash('sha256').update(first).digest('hex'),
      warnings: [],
    });
    // Rebuilt from the same source: the same bytes on disk.
    expect(readFileSync(join(outDir, 'lambda_function.zip')).equals(first)).toBe(true);
  });
});
