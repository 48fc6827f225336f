/**
 * `chatbot-ops test` (guide step 7): the smoke suite against the deployed API, the local stack (--local)
 * or any URL, one line per check with its timing; exit 1 when any check fails.
 */
import { describeCommand } from '../cli/catalog.js';
import type { CommandModule } from '../cli/context.js';
import { addTargetOptions, resolveTarget, type TargetFlags } from '../client/resolve-target.js';
import { runSmokeChecks } from '../client/smoke.js';

export const register: CommandModule = (program, run) => {
  const command = program.command('test').description(describeCommand('test'));
  addTargetOptions(command).action(
    run(async (ctx, flags: TargetFlags) => {
      const target = await resolveTarget(ctx, flags);
      ctx.ui.info(`Testing ${target.url}`);
      const results = await runSmokeChecks(target);
      const { style } = ctx.ui;
      for (const r of results) {
        const mark = r.passed ? style.green('✔ pass') : style.red('✖ fail');
        ctx.ui.info(`${mark}  ${r.name} ${style.dim(`(${r.ms} ms)`)}`);
        if (!r.passed) ctx.ui.info(`        ${r.detail}`);
        if (r.hint) ctx.ui.info(`        ${style.dim(r.hint)}`);
      }
      const failed = results.filter((r) => !r.passed).length;
      ctx.ui.info(
        failed === 0
          ? `All ${results.length} checks passed.`
          : `${failed} of ${results.length} checks failed.`,
      );
      ctx.ui.result({ url: target.url, source: target.source, passed: failed === 0, checks: results });
      return failed === 0 ? 0 : 1;
    }),
  );
};
