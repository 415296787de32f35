/**
 * Runs one invocation of a bundled Lambda handler (what `cdk deploy` uploads) in this fresh Node
 * process, as Lambda would: `node invoke-bundle.ts <asset dir>`, the event as JSON on stdin, the
 * configuration in the environment. Prints `@@result <json>` (or `@@error <json>`) on its own line;
 * the function's own logs go to stdout and stderr as in Lambda.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = process.argv[2];
if (dir === undefined) {
  process.stderr.write('usage: node invoke-bundle.ts <asset dir> < event.json\n');
  process.exit(2);
}
const event: unknown = JSON.parse(readFileSync(0, 'utf8'));
const context = {
  functionName: process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'bundle',
  functionVersion: '$LATEST',
  invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION}:000000000000:function:bundle`,
  memoryLimitInMB: '256',
  awsRequestId: 'bundle-test-request',
  logGroupName: '/aws/lambda/bundle',
  logStreamName: 'bundle',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 30_000,
  done: () => {},
  fail: () => {},
  succeed: () => {},
};
try {
  const module: unknown = await import(pathToFileURL(join(dir, 'index.mjs')).href);
  const handler = typeof module === 'object' && module !== null ? Reflect.get(module, 'handler') : undefined;
  if (typeof handler !== 'function') throw new Error(`${dir}/index.mjs exports no handler function`);
  const result: unknown = await handler(event, context);
  process.stdout.write(`\n@@result ${JSON.stringify(result ?? null)}\n`);
} catch (error) {
  const detail =
    error instanceof Error ? { name: error.name, message: error.message } : { message: String(error) };
  process.stdout.write(`\n@@error ${JSON.stringify(detail)}\n`);
  process.exitCode = 1;
}
