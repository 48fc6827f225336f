/**
 * One Lambda "container" of the local stack, run as its own process by LambdaRuntime: it loads the
 * unpacked handler once (the init phase), then handles one event at a time as frames arrive on fd 3
 * (src/local/runtime-protocol.ts), with a Lambda-like context. It exits when its parent goes away
 * (fd 3 closes), so a killed stack leaves no container behind.
 *
 * argv: <task dir> <handler, e.g. lambda_function.lambda_handler>
 */
import { createRequire } from 'node:module';
import { Socket } from 'node:net';
import { join } from 'node:path';
import {
  encodeFrame,
  encodeResult,
  FrameReader,
  type HostHead,
  type InvokeHead,
} from './runtime-protocol.js';

const [taskDir, handlerSpec] = process.argv.slice(2);

const channel = new Socket({ fd: 3, readable: true, writable: true });

function send(head: HostHead): void {
  channel.write(encodeFrame(head));
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

async function handle(handler: Handler, head: InvokeHead, eventJson: Buffer): Promise<void> {
  const deadline = head.deadlineMs;
  const env = process.env;
  const context = {
    awsRequestId: head.requestId,
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    invokedFunctionArn: head.functionArn,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  if (head.extraLatencyMs) await new Promise((r) => setTimeout(r, head.extraLatencyMs));
  try {
    // No bytes: the event was undefined (JSON has no text for it), as the handler then gets.
    const event: unknown = eventJson.length === 0 ? undefined : JSON.parse(eventJson.toString('utf8'));
    const response = await handler(event, context);
    channel.write(encodeResult(head.id, response));
  } catch (err) {
    const e = err as Error;
    send({
      type: 'error',
      id: head.id,
      errorType: e?.name ?? 'Error',
      errorMessage: e?.message ?? String(err),
    });
  }
}

const started = performance.now();
let handler: Handler | undefined;
try {
  handler = loadHandler();
} catch (err) {
  const e = err as Error;
  send({ type: 'init-error', errorType: e?.name ?? 'Error', errorMessage: e?.message ?? String(err) });
  channel.end(() => process.exit(1));
}
if (handler) {
  const loaded = handler;
  const reader = new FrameReader<InvokeHead>();
  channel.on('data', (chunk: Buffer) => {
    for (const { head, body } of reader.push(chunk))
      if (head.type === 'invoke') void handle(loaded, head, body);
  });
  channel.on('end', () => process.exit(0));
  channel.on('error', () => process.exit(0));
  send({ type: 'ready', initMs: Math.round(performance.now() - started) });
}
