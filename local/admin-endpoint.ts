/**
 * The local run's admin endpoint: `POST` a JSON admin command, get the JSON response. The same
 * handler the admin Lambda runs; the `mailboxes` CLI talks to it with `--endpoint`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdminHandler } from '../functions/admin/invoke.ts';
import { readBody } from './api-gateway-event.ts';

export async function serveAdmin(
  handler: AdminHandler,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  if (request.method !== 'POST') {
    response.writeHead(405, { allow: 'POST', 'content-type': 'text/plain' }).end('POST a JSON admin command');
    return;
  }
  const body = await readBody(request);
  let command: unknown;
  try {
    command = JSON.parse(body?.toString('utf8') ?? '');
  } catch {
    response.writeHead(400, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify({
        ok: false,
        error: { name: 'InvalidJson', message: 'the request body must be a JSON admin command' },
        progress: [],
      }),
    );
    return;
  }
  const result = await handler(command);
  response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
}
