/**
 * `chatbot-ops rotate-key` (doctor's plan.key check warns when a key is older than 90 days). Two
 * stages, so no client is cut off: `rotate-key` puts a new key beside the old one (both are accepted
 * once API Gateway has the new one; the new key is printed once), `rotate-key --finish` shows what it
 * will retire, asks, and retires the old one. What each stage does, and why it converges when run
 * again, is in src/deployment/rotation.ts.
 */
import { describeCommand } from '../cli/catalog.js';
import type { CommandModule, Context } from '../cli/context.js';
import { formatPlan } from '../deploy/plan.js';
import { openDeployment } from '../deployment/deployment.js';
import {
  finishRotation,
  planFinishRotation,
  type RotationProgress,
  startRotation,
} from '../deployment/rotation.js';
import { UsageError } from '../errors.js';

/**
 * How long API Gateway can take to accept a key just put on a usage plan: usually seconds, up to
 * about a minute (deploy's smoke test retries 403s for as long; src/deploy/smoke-test.ts).
 */
const NEW_KEY_ACCEPTED_WITHIN = 'usually within seconds, at most about a minute';

/** The rotation's progress on spinners; `doing` is what it does now, for a Ctrl-C. */
function progressOn(ctx: Context): RotationProgress & { doing(): string } {
  let doing = '';
  return {
    begin: (text) => {
      doing = text;
      const spinner = ctx.ui.spinner(text);
      return (outcome) => {
        doing = '';
        spinner.succeed(outcome);
      };
    },
    note: (text) => ctx.ui.info(text),
    doing: () => doing,
  };
}

/** A stage of the rotation, so that Ctrl-C says where it stopped and which command continues. */
function interruptibleStage<T>(
  ctx: Context,
  progress: { doing(): string },
  rerun: string,
  work: () => Promise<T>,
): Promise<T> {
  return ctx.interruptible(
    () => [
      `Interrupted${progress.doing() ? ` while ${progress.doing()}` : ''}.`,
      `Run \`${rerun}\` again: it reads where the rotation stands and continues.`,
    ],
    work,
  );
}

async function start(ctx: Context, showKey: boolean): Promise<number> {
  const { ui } = ctx;
  const progress = progressOn(ctx);
  const started = await interruptibleStage(ctx, progress, 'chatbot-ops rotate-key', () =>
    startRotation(openDeployment(ctx.aws(), ctx.config()), ctx.timing(), progress),
  );
  const created = started.stage === 'started';
  const reveal = created || showKey;
  ui.result({
    stage: started.stage,
    newKeyId: started.newKey.id,
    oldKeyIds: started.oldKeyIds,
    ...(reveal ? { apiKey: started.newKey.value } : {}),
  });
  if (reveal) {
    ui.info('');
    ui.info(
      `${ui.style.bold('New API key')}${created ? ' (shown once, store it now)' : ''}: ${started.newKey.value}`,
    );
  } else {
    ui.info(`Show the new key with \`chatbot-ops rotate-key --show-key\`.`);
  }
  ui.info(
    `The old key keeps working. API Gateway accepts the new key once the usage plan change reaches it (${NEW_KEY_ACCEPTED_WITHIN}; \`chatbot-ops test\` tells). Move the chatbot to the new key, then run \`chatbot-ops rotate-key --finish\`.`,
  );
  return 0;
}

async function finish(ctx: Context, dryRun: boolean): Promise<number> {
  const { ui } = ctx;
  if (ui.json && !ctx.options.yes && !dryRun) {
    throw new UsageError(
      '--json cannot ask for confirmation',
      'Add --yes to retire the old key, or --dry-run to only see what would go.',
    );
  }
  const deployment = openDeployment(ctx.aws(), ctx.config());
  const planned = await planFinishRotation(deployment);
  const { current } = planned;
  const retiring = planned.older.map((k) => k.id);
  if (retiring.length === 0) {
    ui.info(`Nothing to finish: ${current.id} is the only key named ${current.name}.`);
    ui.result({ stage: 'finished', currentKeyId: current.id, retiredKeyIds: [] });
    return 0;
  }
  const items = planned.items.map((i) => ({ step: 'rotate-key', ...i }));
  ui.info(
    `Retiring ${retiring.length === 1 ? 'the old key' : `${retiring.length} old keys`}; ${current.id} stays:`,
  );
  for (const line of formatPlan(items)) ui.info(line);
  const plan = { currentKeyId: current.id, retiring, plan: items };
  if (dryRun) {
    ui.info('Dry run: nothing was changed.');
    ui.result({ stage: 'planned', ...plan, dryRun: true });
    return 0;
  }
  const question = `Retire ${retiring.join(', ')}? A client still sending ${retiring.length === 1 ? 'it' : 'one of them'} gets 403 from then on.`;
  if (!ctx.options.yes && !(await ui.prompt.confirm(question, false))) {
    ui.info('Nothing was changed.');
    ui.result({ stage: 'planned', ...plan, cancelled: true });
    return 1;
  }
  const progress = progressOn(ctx);
  const { retiredKeyIds } = await interruptibleStage(ctx, progress, 'chatbot-ops rotate-key --finish', () =>
    finishRotation(deployment, planned, ctx.timing(), progress),
  );
  ui.result({ stage: 'finished', currentKeyId: current.id, retiredKeyIds });
  ui.info(`Rotation finished: only key ${current.id} works.`);
  return 0;
}

export const register: CommandModule = (program, run) => {
  program
    .command('rotate-key')
    .description(describeCommand('rotate-key'))
    .option(
      '--finish',
      'retire the old key: off the usage plan, out of API_KEYS, deleted (shows the plan and asks first)',
      false,
    )
    .option('--show-key', 'print the new key again while a rotation is in progress', false)
    .option('--dry-run', 'with --finish: show what would be retired, change nothing', false)
    .action(
      run(async (ctx, flags: { finish?: boolean; showKey?: boolean; dryRun?: boolean }) => {
        if (flags.dryRun && !flags.finish)
          throw new UsageError(
            '--dry-run goes with --finish',
            'Run `chatbot-ops rotate-key --finish --dry-run`.',
          );
        return flags.finish ? finish(ctx, Boolean(flags.dryRun)) : start(ctx, Boolean(flags.showKey));
      }),
    );
};
