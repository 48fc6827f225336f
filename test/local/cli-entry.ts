// The CLI run from source (through tsx), for tests that spawn it as a user would: `chatbot-ops ...`.
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv);
