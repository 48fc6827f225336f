/** Every command of the CLI, in the order `--help` lists them. Each module registers its own commands. */
import type { CommandModule } from '../cli/context.js';
import * as cost from './cost.js';
import * as db from './db.js';
import * as logs from './logs.js';

export const COMMANDS: CommandModule[] = [db.register, cost.register, logs.register];
