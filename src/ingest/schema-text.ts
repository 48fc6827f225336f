/**
 * templates/schema.sql for the ingest function's `init`. The bundle (src/package/bundle.ts) defines
 * CHATBOT_OPS_SCHEMA_SQL as the file's text, since a Lambda function has no templates/ folder;
 * unbundled (tests, the CLI) the file is read from the package.
 */
import { readSchemaSql } from '../db/schema.js';

declare const CHATBOT_OPS_SCHEMA_SQL: string | undefined;

export function schemaSqlText(): string {
  return typeof CHATBOT_OPS_SCHEMA_SQL === 'string' ? CHATBOT_OPS_SCHEMA_SQL : readSchemaSql();
}
