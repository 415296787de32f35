import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';

export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export type Route = (request: ReceivedRequest, response: ServerResponse) => void;

export interface RecordingServer {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  /** Every request received since the last reset, in arrival order. */
  readonly requests: ReceivedRequest[];
  /** Answers requests to `path` with `route` (unrouted paths get a 404). */
  route(path: string, route: Route): void;
  /** Requests received on `path`. */
  received(path: string): ReceivedRequest[];
  /** Resolves once `count` requests to `path` have arrived. */
  waitFor(path: string, count: number): Promise<void>;
  /** Forgets routes and requests, and drops any connection a route left hanging. */
  reset(): void;
  close(): Promise<void>;
}

/**
 * A real HTTP server on a loopback port that records every request (method, path, headers, body)
 * and answers with whatever the test routes: it plays Exchange, the token endpoint or an AWS API.
 */
export async function startRecordingServer(): Promise<RecordingServer> {
  const requests: ReceivedRequest[] = [];
  const routes = new Map<string, Route>();
  let waiters: Array<{ path: string; count: number; resolve: () => void }> = [];
  // Responses a route has not finished (a hang): dropped on reset. Idle keep-alive connections are
  // left alone, as a real server would, so the next test's client may reuse them.
  const unfinished = new Set<ServerResponse>();
  const server = createServer((incoming, response) => {
    unfinished.add(response);
    response.on('close', () => unfinished.delete(response));
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const request: ReceivedRequest = {
        method: incoming.method ?? '',
        path: incoming.url ?? '',
        headers: incoming.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(request);
      const route = routes.get(request.path);
      if (route === undefined) {
        response.writeHead(404, { 'Content-Type': 'text/plain' }).end('no route');
      } else {
        route(request, response);
      }
      const ready = waiters.filter((w) => received(w.path).length >= w.count);
      waiters = waiters.filter((w) => !ready.includes(w));
      for (const w of ready) w.resolve();
    });
  });
  // No idle timeout: a keep-alive connection closed by the server just as the client reuses it is a
  // real-world race (the client reports it as a reset), but not one a test should hit by chance.
  server.keepAliveTimeout = 0;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = portOf(server);
  const received = (path: string) => requests.filter((r) => r.path === path);
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    route: (path, route) => routes.set(path, route),
    received,
    waitFor: (path, count) =>
      received(path).length >= count
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiters.push({ path, count, resolve })),
    reset() {
      routes.clear();
      requests.length = 0;
      waiters = [];
      for (const response of unfinished) response.socket?.destroy();
      unfinished.clear();
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** A loopback port with nothing listening on it (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = portOf(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function portOf(server: Server): number {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server is not listening on TCP');
  return address.port;
}
