import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli-process.js';

describe('no stray warnings', () => {
  it('an AWS command on this Node prints nothing on stderr but its own error', async () => {
    // An endpoint nobody listens on: the SDK clients are built (which is when the SDK warns) and the
    // first call fails fast with the CLI's own message.
    const env = {
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_MAX_ATTEMPTS: '1',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined,
    };
    const r = await runCli(['status', '--region', 'us-east-1', '--endpoint-url', 'http://127.0.0.1:9'], {
      env,
      timeoutMs: 60_000,
    });
    expect(r.stderr).not.toMatch(/Warning|DeprecationWarning|NodeVersionSupport/);
    expect(r.stderr).toMatch(/^Error: /m);
  });
});
