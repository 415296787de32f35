/**
 * What the front end serves, as the HTTP API routes it: Exchange's pushes to the receiver (as API
 * Gateway events), and the admin endpoint the `mailboxes` CLI talks to.
 */
import type { AdminHandler } from '../functions/admin/invoke.ts';
import { CALLBACK_ROUTE } from '../functions/domain/callback.ts';
import { GRAPH_LIFECYCLE_ROUTE, GRAPH_NOTIFICATION_ROUTE } from '../functions/domain/graph-mailbox.ts';
import type { ReceiverHandler } from '../functions/receiver/http.ts';
import { serveAdmin } from './admin-endpoint.ts';
import { matchRoute, readBody, toApiGatewayEvent, writeResult } from './api-gateway-event.ts';
import type { FrontEnd } from './front-end.ts';

export function routeFrontEnd(
  front: FrontEnd,
  handlers: {
    readonly receiver: ReceiverHandler;
    readonly admin: AdminHandler;
  },
): void {
  const { receiver, admin } = handlers;
  front.route(async (request, response) => {
    const url = new URL(request.url ?? '/', front.url);
    if (url.pathname === '/admin') return serveAdmin(admin, request, response);
    // Graph's routes have no path parameters; the rest of the request is the same.
    const graph = url.pathname === GRAPH_NOTIFICATION_ROUTE || url.pathname === GRAPH_LIFECYCLE_ROUTE;
    const params = graph ? {} : matchRoute(CALLBACK_ROUTE, url.pathname);
    if (params === undefined) {
      response
        .writeHead(404, { 'content-type': 'text/plain' })
        .end(
          'not found: Exchange pushes to /ews/{mailboxKey}/{generation}/{token}, Microsoft Graph to /graph/notify and /graph/lifecycle; the admin endpoint is /admin',
        );
      return;
    }
    const body = await readBody(request);
    if (body === undefined) {
      response.writeHead(413, { 'content-type': 'text/plain' }).end('payload too large');
      return;
    }
    const event = toApiGatewayEvent({
      request,
      body,
      routeKey: `POST ${graph ? url.pathname : CALLBACK_ROUTE}`,
      pathParameters: params,
    });
    writeResult(response, await receiver(event));
  });
}
