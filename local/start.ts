// `npm start` will run the whole system on one machine (embedded DynamoDB and SQS emulators, the
// EWS simulator, the receiver and lifecycle handlers). Until that lands it says so plainly
// instead of pretending.
process.stdout.write(
  [
    'exchange-push-bridge: the local run (`npm start`) is not built yet.',
    'When it lands it will start, in one process and without an AWS account:',
    '  - DynamoDB (dynalite) and SQS/SNS (fauxqs) emulators on local ports,',
    '  - an EWS simulator standing in for Exchange, with mailboxes that change,',
    '  - the receiver, processor, sweeper and renewer handlers, exactly as they run in Lambda,',
    '  - a live view of subscriptions, heartbeats, events, losses and renewals.',
    'Today you can run `npm test` (every test) and `npm run decode -- <file>` (decode a captured push).',
    '',
  ].join('\n'),
);
