/**
 * A function's environment as its wiring reads it (core/access.ts): every required variable or a
 * failure naming all that are missing; optional variables undefined when unset, so the code's
 * default applies; and the policy and enrichment settings read only through what the
 * environment names.
 */
import { describe, expect, it } from 'vitest';
import { defineEnvironment, MissingEnvironmentError } from '../../../functions/core/access.ts';
import {
  InvalidLifecycleConfigError,
  POLICY_VARIABLES,
  policyFromEnvironment,
} from '../../../functions/domain/config.ts';
import { DEFAULT_POLICY } from '../../../functions/domain/policy.ts';
import { enrichmentSettingsFromEnvironment } from '../../../functions/processor/enrich-config.ts';
import { PROCESSOR_ENVIRONMENT } from '../../../functions/processor/environment.ts';
import { RENEWER_ENVIRONMENT } from '../../../functions/renewer/environment.ts';
import { SWEEPER_ENVIRONMENT } from '../../../functions/sweeper/environment.ts';

const example = defineEnvironment(
  { TABLE_NAME: ['dynamodb:GetItem'], QUEUE_URL: ['sqs:SendMessage'] },
  ['CALLBACK_BASE_URL'],
  ['RETRY_BASE_SECONDS'],
);

describe("a function's environment", () => {
  it('hands out each variable it names', () => {
    const read = example.read({
      TABLE_NAME: 'subscriptions',
      QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/ingest.fifo',
      CALLBACK_BASE_URL: 'https://abc123.execute-api.us-east-1.amazonaws.com',
      RETRY_BASE_SECONDS: '45',
    });
    expect(read('TABLE_NAME')).toBe('subscriptions');
    expect(read('CALLBACK_BASE_URL')).toBe('https://abc123.execute-api.us-east-1.amazonaws.com');
    expect(read.optional('RETRY_BASE_SECONDS')).toBe('45');
  });

  it('refuses at once, naming every required variable that is unset or empty, and none of the optional ones', () => {
    const reading = () => example.read({ TABLE_NAME: '', QUEUE_URL: 'https://queue' });
    expect(reading).toThrow(MissingEnvironmentError);
    expect(reading).toThrow(/environment variables TABLE_NAME, CALLBACK_BASE_URL are required/);
  });

  it('answers an optional variable that is unset or empty with undefined, so the default applies', () => {
    const required = { TABLE_NAME: 't', QUEUE_URL: 'q', CALLBACK_BASE_URL: 'u' };
    expect(example.read(required).optional('RETRY_BASE_SECONDS')).toBeUndefined();
    expect(
      example.read({ ...required, RETRY_BASE_SECONDS: '' }).optional('RETRY_BASE_SECONDS'),
    ).toBeUndefined();
  });
});

describe('the settings read through the environments', () => {
  const sweeper = { TABLE_NAME: 't', RENEWALS_QUEUE_URL: 'q' };

  it('gives the renewer and the sweeper every policy variable', () => {
    expect(RENEWER_ENVIRONMENT.optional).toEqual(POLICY_VARIABLES);
    expect(SWEEPER_ENVIRONMENT.optional).toEqual(POLICY_VARIABLES);
  });

  it('reads the policy from the variables set, each in its unit, and keeps the defaults of the rest', () => {
    const read = SWEEPER_ENVIRONMENT.read({
      ...sweeper,
      LOST_AFTER_ATTEMPTS: '3',
      CHECKPOINT_INTERVAL_MINUTES: '360',
      UNRELATED: '7',
    });
    expect(policyFromEnvironment(read.optional)).toEqual({
      ...DEFAULT_POLICY,
      lostAfterAttempts: 3,
      checkpointIntervalMs: 360 * 60_000,
    });
  });

  it('refuses a policy value that is not a positive whole number, naming the variable', () => {
    const read = SWEEPER_ENVIRONMENT.read({ ...sweeper, STALE_SLACK_SECONDS: '1.5' });
    expect(() => policyFromEnvironment(read.optional)).toThrow(InvalidLifecycleConfigError);
    expect(() => policyFromEnvironment(read.optional)).toThrow(/STALE_SLACK_SECONDS="1.5"/);
  });

  it("reads the processor's enrichment default and body cap from its environment", () => {
    const read = PROCESSOR_ENVIRONMENT.read({
      EVENTS_TOPIC_ARN: 'arn:aws:sns:us-east-1:000000000000:events.fifo',
      CONNECTIONS_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:connections',
      ENRICH_DEFAULT: 'full',
      ENRICH_MAX_BODY_CHARS: '1000',
    });
    expect(enrichmentSettingsFromEnvironment(read.optional)).toMatchObject({
      defaultMode: 'full',
      maxBodyChars: 1000,
    });
  });
});
