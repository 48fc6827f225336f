import { basename, isAbsolute, relative } from 'node:path';

/**
 * The CLI as the user can type it again, for the commands we print: `chatbot-ops` once installed
 * on the PATH (npm link, npm install -g), else the script they ran, such as `./bin/chatbot-ops.js`
 * in a fresh clone.
 */
export function invokedAs(script = process.argv[1], cwd = process.cwd()): string {
  if (!script || basename(script) !== 'chatbot-ops.js') return 'chatbot-ops';
  const path = relative(cwd, script);
  return path.startsWith('..') || isAbsolute(path) ? script : `./${path}`;
}
