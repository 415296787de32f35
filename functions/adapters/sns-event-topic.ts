/** The events topic (SNS FIFO): group = mailbox (order), de-duplication id = event id. */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { IamActions } from '../core/access.ts';
import type { EventTopic, RoutedEvent } from '../processor/forward.ts';

/**
 * IAM actions on the events topic. No KMS action: the topic uses the AWS managed key, whose own
 * policy lets the account's principals use it through SNS.
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
    await this.#sns.send(
      new PublishCommand({
        TopicArn: this.#topicArn,
        Message: event.body,
        MessageGroupId: event.mailboxKey,
        MessageDeduplicationId: event.id,
        // Subscription filter policies select on these without parsing the body.
        MessageAttributes: {
          type: { DataType: 'String', StringValue: event.type },
          mailboxKey: { DataType: 'String', StringValue: event.mailboxKey },
        },
      }),
    );
  }
}
