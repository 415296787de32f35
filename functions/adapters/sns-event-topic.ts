/** The events topic (SNS FIFO): group = mailbox (order), de-duplication id = event id. */
import { PublishBatchCommand, PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { IamActions } from '../core/access.ts';
import type { EventTopic, PublishEntryResult, RoutedEvent } from '../processor/forward.ts';

/**
 * IAM actions on the events topic. No KMS action: the topic uses the AWS managed key, whose own
 * policy lets the account's principals use it through SNS. PublishBatch is authorized as Publish.
 */
export const SNS_EVENT_TOPIC_ACTIONS = ['sns:Publish'] as const satisfies IamActions;

export class SnsEventTopic implements EventTopic {
  readonly #sns: SNSClient;
  readonly #topicArn: string;

  constructor(sns: SNSClient, topicArn: string) {
    this.#sns = sns;
    this.#topicArn = topicArn;
  }

  async publish(event: RoutedEvent): Promise<void> {
    await this.#sns.send(new PublishCommand({ TopicArn: this.#topicArn, ...message(event) }));
  }

  /** One PublishBatch call (≤ 10 entries, ≤ 256 KiB together); within a group, SNS keeps their order. */
  async publishBatch(events: readonly RoutedEvent[]): Promise<readonly PublishEntryResult[]> {
    const { Failed = [] } = await this.#sns.send(
      new PublishBatchCommand({
        TopicArn: this.#topicArn,
        PublishBatchRequestEntries: events.map((event, i) => ({ Id: `e${i}`, ...message(event) })),
      }),
    );
    return events.map((_, i): PublishEntryResult => {
      const failed = Failed.find((f) => f.Id === `e${i}`);
      return failed === undefined
        ? { ok: true }
        : { ok: false, code: failed.Code ?? 'Unknown', message: failed.Message ?? '' };
    });
  }
}

function message(event: RoutedEvent) {
  return {
    Message: event.body,
    MessageGroupId: event.mailboxKey,
    MessageDeduplicationId: event.id,
    // Subscription filter policies select on these without parsing the body.
    MessageAttributes: {
      type: { DataType: 'String', StringValue: event.type },
      mailboxKey: { DataType: 'String', StringValue: event.mailboxKey },
    },
  };
}
