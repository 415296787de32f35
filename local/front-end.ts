/**
 * The local stand-in for API Gateway's front end: one HTTP port with limits like the HTTP API's,
 * so a slow or silent client cannot hold a socket for long, and a stop that lets the requests
 * under way be answered before what they use (the emulators) is stopped.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface FrontEndLimits {
  /** The request line and headers must have arrived within this (then 408). @default 10 s */
  readonly headersTimeoutMs: number;
  /**
   * The whole request must have arrived within this (then 408): API Gateway's HTTP API gives an
   * integration 30 seconds at most. @default 30 s
   */
  readonly requestTimeoutMs: number;
}

/** The HTTP API's quota: 10,240 bytes of request line and header values (then 431). */
const MAX_HEADER_BYTES = 10_240;

export const FRONT_END_LIMITS: FrontEndLimits = { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000 };

export type RequestHandler = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

export interface FrontEnd {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Until routed, requests are answered 503. */
  route(handle: RequestHandler): void;
  /** Stops taking connections, waits until every request under way is answered, then closes. Once. */
  stop(): Promise<void>;
}

export async function startFrontEnd(
  options: { port?: number; limits?: Partial<FrontEndLimits> } = {},
): Promise<FrontEnd> {
  const limits = { ...FRONT_END_LIMITS, ...options.limits };
  let handle: RequestHandler | undefined;
  const underWay = new Set<Promise<void>>();
  const server: Server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      maxHeaderSize: MAX_HEADER_BYTES,
      // Node looks for expired requests this often (30 s by default): a timeout is only as
      // exact as this.
      connectionsCheckingInterval: Math.max(10, Math.min(1000, limits.headersTimeoutMs / 4)),
    },
    (request, response) => {
      if (handle === undefined) {
        response.writeHead(503, { 'content-type': 'text/plain' }).end('starting');
        return;
      }
      const answered = handle(request, response)
        .catch((error: unknown) => {
          if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
          response.end(`local run: ${error instanceof Error ? error.message : String(error)}`);
        })
        .finally(() => underWay.delete(answered));
      underWay.add(answered);
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  let stopped: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    route(next) {
      handle = next;
    },
    stop() {
      stopped ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        // Bounded by the request timeout: a request still arriving is cut off then.
        await Promise.allSettled([...underWay]);
        server.closeAllConnections();
        await closed;
      })();
      return stopped;
    },
  };
}
