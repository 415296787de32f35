import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration and infra tests start emulators and synthesize stacks; generous timeouts keep a
    // busy shared machine from turning slowness into failures (no test asserts on timing).
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests that need emulators set endpoints per client; dummy credentials keep the SDK from
    // probing instance metadata or ~/.aws.
    env: {
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
    },
  },
});
