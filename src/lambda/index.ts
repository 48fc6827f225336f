/**
 * The Lambda entry point (bundled as lambda_function.js; handler `lambda_function.lambda_handler`).
 * Loading this module does nothing but define functions: configuration is read from process.env on
 * the first invocation, and the pool, the secret and the TLS bundle are made when first needed.
 */
import { type BackendHandler, createHandler, type LambdaContext, type ProxyResult } from './handler.js';

export { hashApiKey } from './api-keys.js';
export {
  type BackendHandler,
  createHandler,
  type HandlerOptions,
  type LambdaContext,
  type ProxyResult,
} from './handler.js';

let container: BackendHandler | undefined;

export async function lambda_handler(event: unknown, context?: LambdaContext): Promise<ProxyResult> {
  container ??= createHandler();
  return container(event, context);
}

/** Forget the container state (settings, pool) so the next call reads process.env again, as a new container would. */
export async function resetForTests(): Promise<void> {
  const previous = container;
  container = undefined;
  await previous?.close();
}
