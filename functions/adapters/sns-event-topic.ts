/** The events topic (SNS FIFO): group = mailbox (order), de-duplication id = event id. */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { EventTopic, RoutedEvent } from '../processor/forward.ts';

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
