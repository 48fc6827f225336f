/**
 * The `bots` filter every aggregate intent takes: `include` (default) counts every request,
 * `exclude` only those whose user agent is not a bot, `only` only the bots. Rows carry `is_bot`
 * from the moment they are written (src/db/user-agent.ts); a row still unclassified (NULL: written
 * by another tool before `db init` classified it) counts as not a bot, so `exclude` and `only`
 * always add up to `include`.
 *
 * The rollup tables have no bot dimension, so a filtered request reads the rows (docs/decisions.md
 * says why); `include` reads the rollups as before.
 */
import { enumParam, withDefault } from './params.js';
import type { RollupView } from './rollup-queries.js';

export type BotsFilter = 'include' | 'exclude' | 'only';

export const BOTS_PARAM = withDefault(
  enumParam(
    'Bots (crawlers, monitors, scripts; told by their user agent): include them, exclude them, or count only them.',
    ['include', 'exclude', 'only'] as BotsFilter[],
  ),
  'include' as BotsFilter,
);

/** The condition on access_logs a filter adds, or null for `include`. Fixed text, no values. */
export function botCondition(bots: BotsFilter): string | null {
  if (bots === 'only') return 'is_bot = 1';
  if (bots === 'exclude') return 'COALESCE(is_bot, 0) = 0';
  return null;
}

/** The rollups a request may read: none once it filters by bots (they do not record it). */
export function rollupsFor(view: RollupView, bots: BotsFilter): RollupView {
  return bots === 'include' ? view : { ready: new Set(), floor: view.floor };
}
