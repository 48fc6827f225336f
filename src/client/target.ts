/** Where `invoke` and `test` send requests: the local stack, a URL given by the user, or the deployed API. */
export interface ApiTarget {
  url: string;
  apiKey: string;
  source: 'local' | 'url' | 'aws';
  /** The usage plan's limits when known, so a 429 can be explained. */
  usagePlan?: {
    rateLimit: number;
    burstLimit: number;
    quotaLimit: number;
    quotaPeriod: string;
    /** Deployed API: the plan's name and whether it lists this API's stage (else every key gets 403). */
    name?: string;
    onStage?: boolean;
  };
  functionName?: string;
}
