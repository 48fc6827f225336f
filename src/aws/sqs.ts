/**
 * SQS, narrowed to the ingest function's failure queue: find it with its settings and how many
 * messages wait in it, create it, change its settings, delete it. Nothing here prints.
 */
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  QueueDoesNotExist,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';

export interface QueueState {
  url: string;
  arn: string;
  /** How long a message is kept, seconds. */
  retentionSeconds: number;
  /** Encrypted at rest with SQS-managed keys. */
  managedSse: boolean;
  /** Messages waiting (AWS's approximate count). */
  messages: number;
}

/** The settings chatbot-ops gives the queue. */
export interface QueueSettings {
  retentionSeconds: number;
}

/** The queue by name, or undefined when there is none. */
export async function findQueue(sqs: SQSClient, name: string): Promise<QueueState | undefined> {
  let url: string;
  try {
    url = (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl ?? '';
  } catch (err) {
    if (err instanceof QueueDoesNotExist) return undefined;
    throw err;
  }
  const { Attributes: a = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: [
        'QueueArn',
        'MessageRetentionPeriod',
        'SqsManagedSseEnabled',
        'ApproximateNumberOfMessages',
      ],
    }),
  );
  return {
    url,
    arn: a.QueueArn ?? '',
    retentionSeconds: Number(a.MessageRetentionPeriod ?? 345600),
    managedSse: a.SqsManagedSseEnabled === 'true',
    messages: Number(a.ApproximateNumberOfMessages ?? 0),
  };
}

const attributesOf = (s: QueueSettings) => ({
  MessageRetentionPeriod: String(s.retentionSeconds),
  SqsManagedSseEnabled: 'true',
});

/** Create the queue, encrypted, with these settings and tags; returns its URL. */
export async function createQueue(
  sqs: SQSClient,
  name: string,
  settings: QueueSettings,
  tags: Record<string, string>,
): Promise<string> {
  const out = await sqs.send(
    new CreateQueueCommand({ QueueName: name, Attributes: attributesOf(settings), tags: { ...tags } }),
  );
  return out.QueueUrl ?? '';
}

export async function setQueueSettings(sqs: SQSClient, url: string, settings: QueueSettings): Promise<void> {
  await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: attributesOf(settings) }));
}

/** Delete the queue and what it holds; one already gone is fine. */
export async function deleteQueue(sqs: SQSClient, url: string): Promise<void> {
  try {
    await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
  } catch (err) {
    if (!(err instanceof QueueDoesNotExist)) throw err;
  }
}
