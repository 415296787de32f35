/**
 * Turns a Node HTTP request into the API Gateway HTTP API (payload format 2.0) event a Lambda
 * behind that API receives, for one route template: how the local run puts the receiver behind a
 * real HTTP port with the same handler code as in AWS.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/**
 * `{name}` segments of a route template matched against a path; undefined when it does not match.
 * A segment whose percent-encoding does not decode matches nothing, as in API Gateway's HTTP API,
 * which decodes a path before routing it and answers 404 when no route then matches.
 */
export function matchRoute(template: string, path: string): Record<string, string> | undefined {
  const names = template.split('/');
  const parts = path.split('/');
  if (names.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < names.length; i++) {
    const name = names[i] ?? '';
    const part = parts[i] ?? '';
    if (name.startsWith('{') && name.endsWith('}')) {
      const value = decoded(part);
      if (value === undefined || value === '') return undefined;
      params[name.slice(1, -1)] = value;
    } else if (name !== part) {
      return undefined;
    }
  }
  return params;
}

function decoded(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined; // URIError: a lone '%', a non-hex escape, bytes that are not UTF-8
  }
}

/** What API Gateway does with an oversized payload: 413 before the function sees it. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

export async function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.byteLength;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

export function toApiGatewayEvent(args: {
  request: IncomingMessage;
  body: Buffer;
  routeKey: string;
  pathParameters: Record<string, string>;
}): APIGatewayProxyEventV2 {
  const { request } = args;
  const url = new URL(request.url ?? '/', 'http://localhost');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const text = args.body.toString('utf8');
  // API Gateway base64-encodes bodies it does not consider text; keep bytes exact the same way.
  const isText = Buffer.from(text, 'utf8').equals(args.body);
  const now = new Date();
  return {
    version: '2.0',
    routeKey: args.routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'localhost',
      http: {
        method: request.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: args.routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    pathParameters: args.pathParameters,
    body: isText ? text : args.body.toString('base64'),
    isBase64Encoded: !isText,
  };
}

export function writeResult(response: ServerResponse, result: APIGatewayProxyStructuredResultV2): void {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  const body =
    result.body === undefined
      ? ''
      : result.isBase64Encoded
        ? Buffer.from(result.body, 'base64')
        : result.body;
  response.writeHead(result.statusCode ?? 200, headers);
  response.end(body);
}
