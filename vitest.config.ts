import { defineConfig } from 'vitest/config';

/**
 * The fast lane, `npm run test:unit`: the use cases on in-memory fakes and the contract suites
 * against those fakes. Nothing in it starts an emulator, a server or a process, so it runs in
 * seconds; everything else (emulators, the simulators, CDK synthesis, bundles, the local run)
 * is the `system` project. `npm test` runs both.
 */
const UNIT = ['test/unit/**/*.test.ts', 'test/contract/fakes.test.ts'];

export default defineConfig({
  test: {
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
    projects: [
      // Files share workers (no per-file isolation): the unit tests hold no global state, and
      // module loading, not the tests, is most of the time of a run this small.
      { extends: true, test: { name: 'unit', include: UNIT, isolate: false, pool: 'threads' } },
      { extends: true, test: { name: 'system', include: ['test/**/*.test.ts'], exclude: UNIT } },
    ],
  },
});
