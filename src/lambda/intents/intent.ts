/**
 * What an intent is, one module each: a name, a one-line description, a parameter schema, and one
 * query function taking the database. The handler validates params against the schema before
 * calling `run`, so `run` receives typed, checked values.
 */
import type { Database } from '../database.js';
import type { ParamDoc, ParamSchema, ParamValues } from '../params.js';

export interface IntentContext {
  now: Date;
  /** The signing key for cursors (derived from the database credentials, so it may need them). */
  cursorKey: () => Promise<Buffer>;
  /** Every intent, for list_intents. */
  intents: readonly Intent[];
  /** MAX_QUERY_LIMIT, so list_intents shows the real upper bound of `limit`. */
  maxQueryLimit: number;
  /** The site's own hosts (SITE_HOSTS): get_referrers leaves out referrals from them. */
  siteHosts?: readonly string[];
}

export interface IntentResult {
  data: Record<string, unknown>;
  /** Rows the database returned, for the request log line. */
  rows: number;
}

export interface Intent {
  name: string;
  description: string;
  params: ParamSchema;
  /** False for intents that never touch the database (list_intents). */
  usesDatabase: boolean;
  run(db: Database, params: Record<string, unknown>, ctx: IntentContext): Promise<IntentResult>;
}

/** Declare an intent; `run` sees its params typed from the schema. */
export function defineIntent<S extends ParamSchema>(definition: {
  name: string;
  description: string;
  params: S;
  usesDatabase?: boolean;
  run(db: Database, params: ParamValues<S>, ctx: IntentContext): Promise<IntentResult>;
}): Intent {
  return {
    name: definition.name,
    description: definition.description,
    params: definition.params,
    usesDatabase: definition.usesDatabase ?? true,
    run: (db, params, ctx) => definition.run(db, params as ParamValues<S>, ctx),
  };
}

/** list_intents' view of a schema, with configured bounds filled in. */
export function describeParams(schema: ParamSchema, maxQueryLimit: number): (ParamDoc & { name: string })[] {
  return Object.entries(schema).map(([name, spec]) => ({
    name,
    ...spec.doc,
    ...(spec.doc.maximum === 'MAX_QUERY_LIMIT' ? { maximum: maxQueryLimit } : {}),
  }));
}
