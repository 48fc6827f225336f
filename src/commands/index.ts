/** Every command of the CLI, in the order `--help` lists them. Each module registers its own commands. */
import type { CommandModule } from '../cli/context.js';
import * as cost from './cost.js';
import * as db from './db.js';
import * as deploy from './deploy.js';
import * as destroy from './destroy.js';
import * as doctor from './doctor.js';
import * as invoke from './invoke.js';
import * as local from './local.js';
import * as logs from './logs.js';
import * as packageCommand from './package.js';
import * as rotateKey from './rotate-key.js';
import * as status from './status.js';
import * as smokeTest from './test.js';

export const COMMANDS: CommandModule[] = [
  db.register,
  cost.register,
  logs.register,
  doctor.register,
  rotateKey.register,
  deploy.register,
  status.register,
  destroy.register,
  packageCommand.register,
  local.register,
  invoke.register,
  smokeTest.register,
];
