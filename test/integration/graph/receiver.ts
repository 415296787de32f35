/**
 * A stand-in for the Graph receiver route, made only of functions/graph's helpers: it answers the
 * validation handshake, decodes notification batches, checks each item's clientState before
 * "storing" it, and answers 202 only after storing (403 when nothing in the batch verifies, 400
 * for a body that is not a batch). The real route (API Gateway + Lambda + SQS) is the wiring step.
 */
import http from 'node:http';
import {
  type ClientStateKey,
  type VerifiedClientState,
  verifyClientState,
} from '../../../functions/graph/client-state.ts';
import {
  type ChangeNotification,
  decodeNotificationBody,
  type LifecycleNotification,
  validationAnswer,
  validationTokenOf,
} from '../../../functions/graph/notification.ts';

export interface Stored<T> {
  readonly path: string;
  readonly verified: VerifiedClientState;
  readonly notification: T;
}

export interface TestReceiver {
  readonly url: string;
  readonly changes: Stored<ChangeNotification>[];
  readonly lifecycle: Stored<LifecycleNotification>[];
  readonly validations: string[];
  /** Status codes answered to notification POSTs, in order. */
  readonly answers: number[];
  close(): Promise<void>;
}

export async function startTestReceiver(key: ClientStateKey): Promise<TestReceiver> {
  const changes: Stored<ChangeNotification>[] = [];
  const lifecycle: Stored<LifecycleNotification>[] = [];
  const validations: string[] = [];
  const answers: number[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const [path = '/', rawQuery = ''] = (request.url ?? '/').split('?', 2);
      if (request.method !== 'POST') {
        response.writeHead(405).end();
        return;
      }
      const validation = validationTokenOf(rawQuery);
      if (validation !== null) {
        if (!validation.ok) {
          response.writeHead(400).end();
          return;
        }
        validations.push(path);
        const answer = validationAnswer(validation.value);
        response.writeHead(answer.statusCode, answer.headers).end(answer.body);
        return;
      }
      const decoded = decodeNotificationBody(Buffer.concat(chunks));
      const reply = (status: number) => {
        answers.push(status);
        response.writeHead(status).end();
      };
      if (!decoded.ok) return reply(400);
      let stored = 0;
      for (const notification of decoded.value.notifications) {
        const verified = verifyClientState(key, notification.clientState);
        if (verified === undefined) continue;
        stored++;
        if (notification.kind === 'change') changes.push({ path, verified, notification });
        else lifecycle.push({ path, verified, notification });
      }
      reply(stored === 0 && decoded.value.notifications.length > 0 ? 403 : 202);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the receiver has no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    changes,
    lifecycle,
    validations,
    answers,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
