/**
 * What every deploy step works with: the AWS clients and session, timing (injectable so tests run
 * instantly), a progress callback for the spinner, and the ids earlier steps produced.
 */
import type { AwsClients } from '../aws/clients.js';
import type { AwsSession } from '../aws/sts.js';
import { realTiming, type Timing } from '../aws/timing.js';

export interface StepEnv {
  aws: AwsClients;
  session: AwsSession;
  timing: Timing;
  /** Update the current step's spinner text ("waiting for the role to propagate…"). */
  progress: (text: string) => void;
}

/** Ids one step hands to the next; pending ones are `<new …>` placeholders while planning. */
export interface Refs {
  roleArn: string;
  lambdaSecurityGroupId: string;
  functionArn: string;
  apiId: string;
}

let timing: Timing = realTiming;

/** The timing deploy/destroy use: real by default; tests swap in a fake clock and short waiter delays. */
export function deployTiming(): Timing {
  return timing;
}

/** For tests and benchmarks only: replace the clock and waiter delays; returns a function that restores them. */
export function useDeployTiming(next: Timing): () => void {
  const previous = timing;
  timing = next;
  return () => {
    timing = previous;
  };
}
