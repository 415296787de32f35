/**
 * A Graph webhook request as the receiver gets it from API Gateway (HTTP API, payload 2.0): a
 * validation request (`?validationToken=`) or a POST of `{"value": [...]}`.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { GRAPH_NOTIFICATION_ROUTE } from '../../functions/domain/graph-mailbox.ts';

export function graphRequest(args: {
  path?: string;
  query?: string;
  body?: string;
  method?: string;
}): APIGatewayProxyEventV2 {
  const path = args.path ?? GRAPH_NOTIFICATION_ROUTE;
  const routeKey = `POST ${path}`;
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: args.query ?? '',
    headers: { 'content-type': args.query === undefined ? 'application/json' : 'text/plain' },
    requestContext: {
      accountId: '111122223333',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: {
        method: args.method ?? 'POST',
        path,
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.8',
        userAgent: 'Microsoft-Graph-ChangeNotifications',
      },
      requestId: 'graph-request',
      routeKey,
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    ...(args.body === undefined ? {} : { body: args.body }),
    isBase64Encoded: false,
  };
}

/** The Graph object id of the user `changeItem`'s resource names (what a watched record pins). */
export const GRAPH_TEST_USER_ID = '6f1c2b7e-0000-4000-8000-000000000001';

/** A change notification item as Graph sends it. */
export function changeItem(args: {
  subscriptionId: string;
  clientState: string;
  changeType?: 'created' | 'updated' | 'deleted';
  itemId?: string;
  etag?: string;
  /** The user its resource names. @default GRAPH_TEST_USER_ID */
  userId?: string;
  /** @default 'message' */
  kind?: 'message' | 'event';
}): Record<string, unknown> {
  const itemId = args.itemId ?? 'AAMkAD-item-1';
  const [segment, type] = args.kind === 'event' ? ['Events', 'Event'] : ['Messages', 'Message'];
  return {
    subscriptionId: args.subscriptionId,
    subscriptionExpirationDateTime: '2026-12-05T00:00:00Z',
    changeType: args.changeType ?? 'created',
    resource: `Users/${args.userId ?? GRAPH_TEST_USER_ID}/${segment}/${itemId}`,
    resourceData: {
      '@odata.type': `#Microsoft.Graph.${type}`,
      '@odata.id': `Users/${args.userId ?? GRAPH_TEST_USER_ID}/${segment}/${itemId}`,
      '@odata.etag': args.etag ?? 'W/"CQAAABYAAA"',
      id: itemId,
    },
    clientState: args.clientState,
    tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  };
}

export function lifecycleItem(args: {
  subscriptionId: string;
  clientState: string;
  lifecycleEvent: 'reauthorizationRequired' | 'subscriptionRemoved' | 'missed';
}): Record<string, unknown> {
  return {
    subscriptionId: args.subscriptionId,
    subscriptionExpirationDateTime: '2026-12-05T00:00:00Z',
    lifecycleEvent: args.lifecycleEvent,
    clientState: args.clientState,
    tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  };
}
