/**
 * `status`: what is deployed, per resource: ok, missing, drifted (with the fields that differ from
 * the config) or extra (left from a rename). It is deploy's read and plan, printed as states;
 * nothing is changed. Exit 1 when anything is not ok, so a script can tell.
 */
import { resolveAwsSession } from '../aws/sts.js';
import { describeCommand } from '../cli/catalog.js';
import type { CommandModule } from '../cli/context.js';
import { type LoadedCode, loadFunctionCode } from '../deploy/code.js';
import { readAndPlan } from '../deploy/deploy.js';
import { databasePassword, databaseShown } from '../deploy/function.js';
import { statusOf } from '../deploy/plan.js';
import { STEPS } from '../deploy/steps.js';
import { currentKeyReport, openDeployment } from '../deployment/deployment.js';
import { environmentFor } from '../lambda/settings.js';

export const register: CommandModule = (program, run) => {
  program
    .command('status')
    .description(describeCommand('status'))
    .option('--zip <file>', "compare the function's code with this zip (default: package src/lambda)")
    .option('--show-key', 'print the current API key value (a secret)', false)
    .action(
      run(async (ctx, flags: { zip?: string; showKey?: boolean }) => {
        const { ui } = ctx;
        const config = ctx.config();
        const aws = ctx.aws();
        const session = await resolveAwsSession(aws);
        let code: LoadedCode | undefined;
        try {
          code = await loadFunctionCode(flags.zip);
          for (const w of code.warnings) ui.warn(w);
        } catch (err) {
          ui.warn(`code not compared: ${(err as Error).message}`);
        }
        const dbPassword = databasePassword(config, false);
        const deployment = openDeployment(aws, config);
        const plan = await readAndPlan(
          { aws, session, deployment },
          // The password may be unknown here (not compared then); '' means "no new key" for API_KEYS.
          { config, code, dbPassword, newKeyValue: '' },
          STEPS.map((s) => s.name),
        );
        const resources = plan.items.map((i) => ({
          step: i.step,
          kind: i.kind,
          resource: i.resource,
          status: statusOf(i.action),
          ...(i.action === 'update' || i.action === 'delete' ? { changes: i.changes } : {}),
        }));
        ui.info(`Account ${session.account}, region ${session.region}:`);
        const mark = {
          ok: ui.style.green('ok'),
          missing: ui.style.red('missing'),
          drifted: ui.style.yellow('drifted'),
          extra: ui.style.yellow('extra'),
        };
        for (const r of resources) {
          ui.info(`  ${mark[r.status].padEnd(7)}  ${r.kind} ${r.resource}`);
          for (const c of r.changes ?? [])
            ui.info(
              r.status === 'extra'
                ? `           ${c.field}: ${JSON.stringify(c.from)}`
                : `           ${c.field}: ${JSON.stringify(c.from)} (config: ${JSON.stringify(c.to)})`,
            );
        }
        // Where the function's database is: what it runs with when it exists, else what deploy would set.
        const fn = await deployment.function();
        const database = databaseShown(
          fn?.environment ?? environmentFor(config, { dbPassword: undefined, apiKeyValues: [] }),
        );
        ui.info(
          `Database: ${database} (${fn ? "the function's settings" : 'from the config; no function yet'})`,
        );
        for (const w of plan.warnings) ui.warn(w);
        const passwordUnknown = !config.database.secretArn && dbPassword === undefined;
        if (passwordUnknown)
          ui.warn(
            `${config.database.passwordEnv} is not set in this shell: the function's database password was not compared, and \`chatbot-ops deploy\` stops until it is set`,
          );
        const summary = { ok: 0, missing: 0, drifted: 0, extra: 0 };
        for (const r of resources) summary[r.status] += 1;
        const notOk = summary.missing + summary.drifted + summary.extra;
        ui.info(
          `${summary.ok} ok, ${summary.missing} missing, ${summary.drifted} drifted${summary.extra > 0 ? `, ${summary.extra} extra` : ''}${notOk > 0 ? ': run `chatbot-ops deploy` to fix' : ''}`,
        );
        const key = flags.showKey ? await currentKeyReport(deployment) : undefined;
        if (key) ui.info(key.line);
        ui.result({
          account: session.account,
          region: session.region,
          summary,
          resources,
          database,
          warnings: plan.warnings,
          codeCompared: code !== undefined,
          passwordCompared: !passwordUnknown,
          ...(key?.value ? { apiKey: key.value } : {}),
        });
        return notOk > 0 ? 1 : 0;
      }),
    );
};
