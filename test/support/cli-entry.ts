// The CLI run from source (through tsx), for tests that run it in its own process as a user would.
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv);
