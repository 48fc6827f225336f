/**
 * `destroy`: remove everything `deploy` made, in the safe order (see src/deploy/destroy.ts), after
 * showing what goes and asking. Never the database. Re-runnable: an empty account succeeds.
 */
import { resolveAwsSession } from '../aws/sts.js';
import { describeCommand } from '../cli/catalog.js';
import type { CommandModule } from '../cli/context.js';
import { applyDestroy, planDestroy, readForDestroy } from '../deploy/destroy.js';
import { formatPlan } from '../deploy/plan.js';
import { STEPS } from '../deploy/steps.js';
import { openDeployment } from '../deployment/deployment.js';
import { UsageError } from '../errors.js';

export const register: CommandModule = (program, run) => {
  const cmd = program.command('destroy').description(describeCommand('destroy'));
  // Each step's own removal options (--keep-logs), then the command's.
  for (const option of STEPS.flatMap((s) => s.destroyOptions)) cmd.option(option.flags, option.description);
  cmd.option('--dry-run', 'show what would be removed; remove nothing', false).action(
    run(async (ctx, flags: { dryRun: boolean; [option: string]: unknown }) => {
      const { ui } = ctx;
      if (ui.json && !ctx.options.yes && !flags.dryRun) {
        throw new UsageError(
          '--json cannot ask for confirmation',
          'Add --yes to destroy, or --dry-run to only see the list.',
        );
      }
      const config = ctx.config();
      if (!ctx.configExists()) {
        ui.warn(
          `no ${ctx.configPath()} here: looking for the default names (function ${config.function.name}, API ${config.api.name}, usage plan ${config.usagePlan.name}, role ${config.function.role}, security group ${config.vpc.lambdaSecurityGroupName} in any VPC) and for what deploy tagged as theirs; run where the config is, or pass --config FILE, for a deployment with other names`,
        );
      }
      const aws = ctx.aws();
      const session = await resolveAwsSession(aws);
      const deployment = openDeployment(aws, config);
      // The identity just read, so the steps that name things by account (the logs bucket) ask STS no more.
      void deployment.cached('session', async () => session);
      const current = await readForDestroy(deployment);
      const items = planDestroy(current, config, flags);
      // A step may list what it keeps (a bucket holding logs): shown, not counted as removed.
      const removed = items.filter((i) => i.action === 'delete').length;
      const summary = { account: session.account, region: session.region, plan: items };
      if (removed === 0) {
        for (const line of formatPlan(items)) ui.info(line);
        ui.info(`Nothing to remove in account ${session.account}, ${session.region}.`);
        ui.result({ ...summary, destroyed: false });
        return 0;
      }
      ui.info(`To remove from account ${session.account} in ${session.region} (the database stays):`);
      for (const line of formatPlan(items)) ui.info(line);
      if (flags.dryRun) {
        ui.info('Dry run: nothing was removed.');
        ui.result({ ...summary, dryRun: true, destroyed: false });
        return 0;
      }
      if (!ctx.options.yes && !(await ui.prompt.confirm(`Remove these ${removed} resources?`, false))) {
        ui.info('Nothing was removed.');
        ui.result({ ...summary, destroyed: false, cancelled: true });
        return 1;
      }
      const spinner = ui.spinner('Removing');
      const reports: string[] = [];
      let doing = '';
      const stopped = () => {
        spinner.fail('Removing interrupted');
        return [
          `Interrupted${doing ? ` while ${doing}` : ''}: some resources may be gone, others not yet.`,
          'Run `chatbot-ops destroy` again: it finds what is left and removes it.',
        ];
      };
      try {
        await ctx.interruptible(stopped, () =>
          applyDestroy(
            {
              aws,
              session,
              timing: ctx.timing(),
              progress: (t) => {
                doing = t;
                spinner.text(t);
              },
              report: (t) => reports.push(t),
            },
            current,
            config,
            flags,
          ),
        );
      } catch (err) {
        spinner.fail('Removing stopped');
        throw err;
      }
      spinner.succeed(`Removed ${removed} resources`);
      for (const r of reports) ui.info(r);
      ui.result({ ...summary, destroyed: true, ...(reports.length > 0 ? { notes: reports } : {}) });
      return 0;
    }),
  );
};
