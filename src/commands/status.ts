/**
 * `status`: what is deployed, per resource: ok, missing, or drifted (with the fields that differ
 * from the config). It is deploy's read and plan, printed as states; nothing is changed.
 */
import { resolveAwsSession } from '../aws/sts.js';
import type { CommandModule } from '../cli/context.js';
import { type LoadedCode, loadFunctionCode } from '../deploy/code.js';
import { readAndPlan } from '../deploy/deploy.js';
import { databasePassword } from '../deploy/function.js';
import { statusOf } from '../deploy/plan.js';
import { STEPS } from '../deploy/steps.js';

export const register: CommandModule = (program, run) => {
  program
    .command('status')
    .description('What is deployed, per resource: ok, missing, or drifted with the differing fields')
    .option('--zip <file>', "compare the function's code with this zip (default: package src/lambda)")
    .action(
      run(async (ctx, flags: { zip?: string }) => {
        const { ui } = ctx;
        const config = ctx.config();
        const aws = ctx.aws();
        const session = await resolveAwsSession(aws);
        let code: LoadedCode | undefined;
        try {
          code = await loadFunctionCode(flags.zip);
        } catch (err) {
          ui.warn(`code not compared: ${(err as Error).message}`);
        }
        const plan = await readAndPlan(
          { aws, session },
          // The password may be unknown here (not compared then); '' means "no new key" for API_KEYS.
          { config, code, dbPassword: databasePassword(config, false), newKeyValue: '' },
          STEPS.map((s) => s.name),
        );
        const resources = plan.items.map((i) => ({
          step: i.step,
          kind: i.kind,
          resource: i.resource,
          status: statusOf(i.action),
          ...(i.action === 'update' ? { changes: i.changes } : {}),
        }));
        ui.info(`Account ${session.account}, region ${session.region}:`);
        const mark = {
          ok: ui.style.green('ok'),
          missing: ui.style.red('missing'),
          drifted: ui.style.yellow('drifted'),
          extra: 'extra',
        };
        for (const r of resources) {
          ui.info(`  ${mark[r.status].padEnd(7)}  ${r.kind} ${r.resource}`);
          for (const c of r.changes ?? [])
            ui.info(`           ${c.field}: ${JSON.stringify(c.from)} (config: ${JSON.stringify(c.to)})`);
        }
        for (const w of plan.warnings) ui.warn(w);
        const count = (s: string) => resources.filter((r) => r.status === s).length;
        ui.info(
          `${count('ok')} ok, ${count('missing')} missing, ${count('drifted')} drifted${count('missing') + count('drifted') > 0 ? ': run `chatbot-ops deploy` to fix' : ''}`,
        );
        ui.result({
          account: session.account,
          region: session.region,
          resources,
          warnings: plan.warnings,
          codeCompared: code !== undefined,
        });
        return 0;
      }),
    );
};
