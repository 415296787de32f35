/** A DynamoDB write with a condition, where a failed condition is an answer, not an error. */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';

/** True when the write was applied, false when its condition did not hold; other failures throw. */
export async function conditionally(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (e) {
    if (e instanceof ConditionalCheckFailedException) return false;
    throw e;
  }
}
