/**
 * `chatbot-ops package` (guide step 3): bundle src/lambda and zip it reproducibly; print size and hashes.
 */
import { resolve } from 'node:path';
import { describeCommand } from '../cli/catalog.js';
import type { CommandModule } from '../cli/context.js';
import { buildLambdaZip } from '../package/bundle.js';

const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;

export const register: CommandModule = (program, run) => {
  program
    .command('package')
    .description(describeCommand('package'))
    .option('--out-dir <dir>', 'folder for lambda_function.zip', 'dist')
    .action(
      run(async (ctx, opts: { outDir: string }) => {
        const spinner = ctx.ui.spinner('Bundling src/lambda');
        const zip = await buildLambdaZip({ outDir: resolve(opts.outDir) }).catch((err: unknown) => {
          spinner.fail('Packaging failed');
          throw err;
        });
        spinner.succeed(`Packaged ${zip.zipPath} in ${zip.buildMs} ms`);
        for (const warning of zip.warnings) ctx.ui.warn(warning);
        ctx.ui.info(`  size:            ${kb(zip.sizeBytes)} zipped, ${kb(zip.unzippedBytes)} unzipped`);
        ctx.ui.info(`  CodeSha256:      ${zip.sha256Base64}`);
        ctx.ui.info(`  sha256 (hex):    ${zip.sha256Hex}`);
        ctx.ui.info('  handler:         lambda_function.lambda_handler');
        ctx.ui.result({
          zipPath: zip.zipPath,
          sizeBytes: zip.sizeBytes,
          unzippedBytes: zip.unzippedBytes,
          sha256Base64: zip.sha256Base64,
          sha256Hex: zip.sha256Hex,
          buildMs: zip.buildMs,
          warnings: zip.warnings,
        });
        return 0;
      }),
    );
};
