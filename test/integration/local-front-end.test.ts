/**
 * The local run's HTTP front end over real sockets: API Gateway's limits on slow clients and
 * undecodable paths, and a stop that answers the requests under way before the emulators they
 * use are stopped.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { readBody } from '../../local/api-gateway-event.ts';
import { startFrontEnd } from '../../local/front-end.ts';
import type { LocalLogEntry } from '../../local/options.ts';
import { type LocalSystem, startLocalSystem } from '../../local/system.ts';

let system: LocalSystem | undefined;
afterEach(async () => {
  await system?.stop();
  system = undefined;
});

/** A raw connection to `url`, with everything it received and whether the server closed it. */
async function open(url: string): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let received = '';
  socket.on('data', (chunk) => (received += chunk));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, received: () => received, closed };
}

describe('the local front end', () => {
  it('answers 408 and closes a connection whose request does not arrive in time, as a real front end does', async () => {
    const front = await startFrontEnd({ limits: { headersTimeoutMs: 200, requestTimeoutMs: 400 } });
    front.route(async (request, response) => {
      await readBody(request);
      response.writeHead(200).end('ok');
    });
    try {
      const slowHeaders = await open(front.url);
      slowHeaders.socket.write('POST /admin HTTP/1.1\r\nHost: x\r\n');
      const slowBody = await open(front.url);
      slowBody.socket.write('POST /admin HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc');
      await Promise.all([slowHeaders.closed, slowBody.closed]);
      expect(slowHeaders.received()).toMatch(/^HTTP\/1\.1 408 /);
      expect(slowBody.received()).toMatch(/^HTTP\/1\.1 408 /);
    } finally {
      await front.stop();
    }
  });

  it('stops only once the requests under way are answered', async () => {
    const front = await startFrontEnd();
    const order: string[] = [];
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let arrived: () => void = () => {};
    const underWay = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    front.route(async (_request, response) => {
      arrived();
      await held;
      response.writeHead(200).end('answered');
      order.push('answered');
    });
    const answer = fetch(`${front.url}/x`).then((r) => r.text());
    await underWay;
    const stopped = front.stop().then(() => order.push('stopped'));
    release();
    await stopped;
    expect(order).toEqual(['answered', 'stopped']);
    expect(await answer).toBe('answered');
  });
});

describe('the local run, over HTTP', () => {
  it('answers a callback path whose percent-encoding does not decode 404, as API Gateway does, not 500', async () => {
    system = await startLocalSystem({ addMailboxes: false, changeRate: 0 });
    for (const token of ['%', '%ZZ', '%E0%A4%A'])
      expect(
        (await fetch(`${system.receiverUrl}/ews/abc/1/${token}`, { method: 'POST', body: '<x/>' })).status,
      ).toBe(404);
  });

  it('stopping answers a request under way with the emulators still up, and logs no error', async () => {
    const errors: LocalLogEntry[] = [];
    const s = await startLocalSystem({
      addMailboxes: false,
      changeRate: 0,
      log: (entry) => {
        if (entry.level === 'error') errors.push(entry);
      },
    });
    // An admin "list" (it scans DynamoDB) whose body is still to come when the run stops; the
    // server's 100 Continue says it has taken the request.
    const body = JSON.stringify({ command: 'list' });
    const client = await open(s.adminUrl);
    client.socket.write(
      `POST /admin HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`,
    );
    while (!client.received().startsWith('HTTP/1.1 100 Continue'))
      await new Promise((resolve) => setTimeout(resolve, 10));
    const stopped = s.stop();
    // The simulator stops before the front end drains; the rest of the body comes after it.
    for (;;) {
      const down = await fetch(s.simulator.url).then(
        () => false,
        () => true,
      );
      if (down) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    client.socket.write(body);
    await Promise.all([stopped, client.closed]);
    expect(client.received()).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
    expect(client.received()).toContain('"ok":true');
    expect(errors).toEqual([]);
  });

  it("routes Graph's webhook requests to the receiver: validation echoed, a forgery refused", async () => {
    system = await startLocalSystem({ mailboxes: 1, changeRate: 0, addMailboxes: false });
    for (const path of ['/graph/notify', '/graph/lifecycle']) {
      const validation = await fetch(`${system.receiverUrl}${path}?validationToken=a%2Bb%20c`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
      });
      expect(validation.status).toBe(200);
      expect(await validation.text()).toBe('a+b c');
    }
    const forged = await fetch(`${system.receiverUrl}/graph/notify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        value: [
          {
            subscriptionId: 'x',
            clientState: 'v1.forged',
            changeType: 'created',
            resource: 'Users/u/Messages/m',
          },
        ],
      }),
    });
    expect(forged.status).toBe(403);
  });
});
