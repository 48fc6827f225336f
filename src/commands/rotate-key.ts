/**
 * `chatbot-ops rotate-key` (doctor's plan.key check warns when a key is older than 90 days). Two
 * stages, so no client is cut off: `rotate-key` puts a new key beside the old one (both work; the
 * new key is printed once), `rotate-key --finish` retires the old one. What each stage does, and
 * why it converges when run again, is in src/deployment/rotation.ts.
 */
import type { CommandModule, Context } from '../cli/context.js';
import { openDeployment } from '../deployment/deployment.js';
import { finishRotation, type RotationProgress, startRotation } from '../deployment/rotation.js';

function progressOn(ctx: Context): RotationProgress {
  return {
    begin: (text) => {
      const spinner = ctx.ui.spinner(text);
      return (outcome) => spinner.succeed(outcome);
    },
    note: (text) => ctx.ui.info(text),
  };
}

async function start(ctx: Context, showKey: boolean): Promise<number> {
  const { ui } = ctx;
  const started = await startRotation(openDeployment(ctx.aws(), ctx.config()), ctx.timing(), progressOn(ctx));
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
    `Both keys work now. Move the chatbot to the new key, then run \`chatbot-ops rotate-key --finish\`.`,
  );
  return 0;
}

async function finish(ctx: Context): Promise<number> {
  const { ui } = ctx;
  const { current, retiredKeyIds } = await finishRotation(
    openDeployment(ctx.aws(), ctx.config()),
    ctx.timing(),
    progressOn(ctx),
  );
  ui.result({ stage: 'finished', currentKeyId: current.id, retiredKeyIds });
  ui.info(
    retiredKeyIds.length === 0
      ? `Nothing to finish: ${current.id} is the only key named ${current.name}.`
      : `Rotation finished: only key ${current.id} works.`,
  );
  return 0;
}

export const register: CommandModule = (program, run) => {
  program
    .command('rotate-key')
    .description('new API key beside the old one (both accepted); --finish retires the old one')
    .option('--finish', 'retire the old key: off the usage plan, out of API_KEYS, deleted', false)
    .option('--show-key', 'print the new key again while a rotation is in progress', false)
    .action(
      run(async (ctx, flags: { finish?: boolean; showKey?: boolean }) =>
        flags.finish ? finish(ctx) : start(ctx, Boolean(flags.showKey)),
      ),
    );
};
