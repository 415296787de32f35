/**
 * An EWS push as the receiver gets it from API Gateway (HTTP API, payload 2.0): a POST to a
 * callback path, the SOAP body as text.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';

const ROUTE_KEY = 'POST /ews/{mailboxKey}/{generation}/{token}';

export function callbackPush(path: string, body: string): APIGatewayProxyEventV2 {
  const [, , mailboxKey = '', generation = '', token = ''] = path.split('/');
  return {
    version: '2.0',
    routeKey: ROUTE_KEY,
    rawPath: path,
    rawQueryString: '',
    headers: { 'content-type': 'text/xml; charset=utf-8' },
    requestContext: {
      accountId: '111122223333',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: {
        method: 'POST',
        path,
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.7',
        userAgent: 'ExchangeServicesClient/15.20',
      },
      requestId: 'JjB2cgaAIAMEVzA=',
      routeKey: ROUTE_KEY,
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    pathParameters: { mailboxKey, generation, token },
    body,
    isBase64Encoded: false,
  };
}
