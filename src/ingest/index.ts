/**
 * The ingest function's entry point (bundled as ingest_function.js; handler
 * `ingest_function.handler`). Loading it defines functions only: the environment is read, and the
 * pool and S3 client made, on the first invocation.
 */
import { createIngestHandler, type IngestContext, type IngestHandler } from './handler.js';

let container: IngestHandler | undefined;

export async function handler(event: unknown, context?: IngestContext): Promise<unknown> {
  container ??= createIngestHandler();
  return container(event, context);
}
