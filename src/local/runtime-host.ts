/**
 * One Lambda "container" of the local stack, run as its own process by LambdaRuntime: it loads the
 * unpacked handler once (the init phase), then handles one event at a time as messages arrive over the
 * IPC channel, with a Lambda-like context. It exits when its parent goes away, so a killed stack leaves
 * no container behind.
 *
 * argv: <task dir> <handler, e.g. lambda_function.lambda_handler>
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { HostMessage, InvokeMessage } from './runtime-protocol.js';

const [taskDir, handlerSpec] = process.argv.slice(2);

function send(message: HostMessage): void {
  process.send?.(message);
}

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

function loadHandler(): Handler {
  if (!taskDir || !handlerSpec) throw new Error('usage: runtime-host <task dir> <file.export>');
  const dot = handlerSpec.lastIndexOf('.');
  const file = handlerSpec.slice(0, dot);
  const exportName = handlerSpec.slice(dot + 1);
  const require = createRequire(join(taskDir, 'index.js'));
  const mod = require(join(taskDir, `${file}.js`)) as Record<string, unknown>;
  const fn = mod[exportName];
  if (typeof fn !== 'function') {
    const error = new Error(`${file}.${exportName} is undefined or not exported`);
    error.name = 'Runtime.HandlerNotFound';
    throw error;
  }
  return fn as Handler;
}

async function handle(handler: Handler, message: InvokeMessage): Promise<void> {
  const deadline = message.deadlineMs;
  const env = process.env;
  const context = {
    awsRequestId: message.requestId,
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    invokedFunctionArn: message.functionArn,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  if (message.extraLatencyMs) await new Promise((r) => setTimeout(r, message.extraLatencyMs));
  try {
    const response = await handler(message.event, context);
    send({ type: 'result', id: message.id, response });
  } catch (err) {
    const e = err as Error;
    send({
      type: 'error',
      id: message.id,
      errorType: e?.name ?? 'Error',
      errorMessage: e?.message ?? String(err),
    });
  }
}

const started = performance.now();
let handler: Handler;
try {
  handler = loadHandler();
} catch (err) {
  const e = err as Error;
  send({ type: 'init-error', errorType: e?.name ?? 'Error', errorMessage: e?.message ?? String(err) });
  process.exit(1);
}
process.on('message', (message: InvokeMessage) => {
  if (message?.type === 'invoke') void handle(handler, message);
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready', initMs: Math.round(performance.now() - started) });
