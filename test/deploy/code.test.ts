/**
 * Where deploy and status get the function's code: packaged in memory (never written into the CLI's
 * own folder, which may be read-only), and compared with the zip `package` left in the project.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFunctionCode } from '../../src/deploy/code.js';
import { buildLambdaZip } from '../../src/package/bundle.js';

const INSTALL_DIST = fileURLToPath(new URL('../../dist/', import.meta.url));
const stateOf = (path: string) => (existsSync(path) ? statSync(path).mtimeMs : 'absent');

let project: string;
beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), 'code-project-'));
});
afterAll(() => rmSync(project, { recursive: true, force: true }));

describe('the code deploy and status use', () => {
  it('is packaged in memory: nothing is written into the install folder', { timeout: 120_000 }, async () => {
    const before = [stateOf(INSTALL_DIST), stateOf(join(INSTALL_DIST, 'lambda_function.zip'))];

    const code = await loadFunctionCode(undefined, project);

    expect(code.source).toBe('src/lambda (packaged in memory)');
    expect(code.zip.subarray(0, 4).toString('binary')).toBe('PK\u0003\u0004');
    expect([stateOf(INSTALL_DIST), stateOf(join(INSTALL_DIST, 'lambda_function.zip'))]).toEqual(before);
    expect(existsSync(join(project, 'dist'))).toBe(false);
  });

  it('is the zip `package` made in the project, when it is the same bytes', {
    timeout: 120_000,
  }, async () => {
    const packaged = await buildLambdaZip({ outDir: join(project, 'dist') });

    const code = await loadFunctionCode(undefined, project);

    expect(code.sha256Base64).toBe(packaged.sha256Base64);
    expect(code.source).toMatch(/dist\/lambda_function\.zip \(as `chatbot-ops package` made it\)$/);
    expect(code.warnings).toEqual([]);
  });

  it('says how to deploy a zip in dist/ that differs, and deploys the fresh package', {
    timeout: 120_000,
  }, async () => {
    mkdirSync(join(project, 'dist'), { recursive: true });
    writeFileSync(join(project, 'dist', 'lambda_function.zip'), 'PK\u0003\u0004 an older package');

    const code = await loadFunctionCode(undefined, project);

    expect(code.source).toBe('src/lambda (packaged in memory)');
    expect(code.warnings).toEqual([
      expect.stringMatching(
        /dist\/lambda_function\.zip differs from src\/lambda as this chatbot-ops packages it .*pass --zip .*dist\/lambda_function\.zip to deploy that file$/,
      ),
    ]);
  });
});
