import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { Result } from '../../../functions/core/result.ts';
import {
  type ConnectionConfigProblem,
  credentialHint,
  type ExchangeConnection,
  InvalidConnectionConfigError,
  parseConnections,
  safeUrlText,
} from '../../../functions/ews/connection.ts';

const CLIENT_SECRET = 'Xq8~s3cr3t.Value_that-must-never-show';
const PASSWORD = 'P@ssw0rd-never-shown!';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';

const online = {
  ewsUrl: 'https://outlook.office365.com/EWS/Exchange.asmx',
  auth: { kind: 'oauth2', tenantId: TENANT, clientId: CLIENT, clientSecret: CLIENT_SECRET },
};
const onPremises = {
  ewsUrl: 'https://mail.example.com/EWS/Exchange.asmx',
  auth: { kind: 'basic', username: 'svc-ews@example.com', password: PASSWORD },
  requestServerVersion: 'Exchange2016',
  timeoutMs: 20_000,
};

function value<T, E>(result: Result<T, E>): T {
  if (!result.ok) throw new Error(`expected success, got ${String(result.error)}`);
  return result.value;
}

/** Parses, expects failure, and checks no secret leaked into the error in any form. */
function problemsOf(json: unknown): readonly ConnectionConfigProblem[] {
  const result = parseConnections(json);
  if (result.ok) throw new Error('expected the config to be refused');
  const error = result.error;
  expect(error).toBeInstanceOf(InvalidConnectionConfigError);
  const everything = `${error.message}\n${inspect(error, { depth: 10 })}\n${JSON.stringify(error.problems)}`;
  expect(everything).not.toContain(CLIENT_SECRET);
  expect(everything).not.toContain(PASSWORD);
  return error.problems;
}

function onlyProblem(json: unknown): ConnectionConfigProblem {
  const problems = problemsOf(json);
  expect(problems).toHaveLength(1);
  const [problem] = problems;
  if (problem === undefined) throw new Error('no problem');
  return problem;
}

const withOnline = (patch: Record<string, unknown>) => ({ online: { ...online, ...patch } });
const withOnlineAuth = (patch: Record<string, unknown>) => withOnline({ auth: { ...online.auth, ...patch } });
const withBasic = (patch: Record<string, unknown>) => ({ onprem: { ...onPremises, ...patch } });
const withBasicAuth = (patch: Record<string, unknown>) =>
  withBasic({ auth: { ...onPremises.auth, ...patch } });

describe('parseConnections: valid configurations', () => {
  it('reads an Exchange Online connection and fills in every default', () => {
    const connections = value(parseConnections({ 'exchange-online': online }));
    expect(connections.get('exchange-online')).toEqual<ExchangeConnection>({
      kind: 'ews',
      name: 'exchange-online',
      ewsUrl: 'https://outlook.office365.com/EWS/Exchange.asmx',
      auth: {
        kind: 'oauth2',
        tenantId: TENANT,
        clientId: CLIENT,
        clientSecret: CLIENT_SECRET,
        tokenUrl: `https://login.microsoftonline.com/${TENANT}/oauth2/v2.0/token`,
        scope: 'https://outlook.office365.com/.default',
      },
      impersonation: true,
      requestServerVersion: 'Exchange2013',
      timeoutMs: 30_000,
    });
  });

  it('reads an on-premises Basic connection with its own version and timeout', () => {
    const connection = value(parseConnections({ onprem: onPremises })).get('onprem');
    expect(connection).toMatchObject({
      ewsUrl: 'https://mail.example.com/EWS/Exchange.asmx',
      auth: { kind: 'basic', username: 'svc-ews@example.com', password: PASSWORD },
      impersonation: true,
      requestServerVersion: 'Exchange2016',
      timeoutMs: 20_000,
    });
  });

  it('reads several connections, a tenant domain, an explicit token URL and scope', () => {
    const connections = value(
      parseConnections({
        a: onPremises,
        'b.tenant_2': {
          ...online,
          auth: {
            ...online.auth,
            tenantId: 'contoso.onmicrosoft.com',
            tokenUrl: 'https://login.microsoftonline.us/contoso.onmicrosoft.com/oauth2/v2.0/token',
            scope: 'https://outlook.office365.us/.default',
          },
          impersonation: true,
        },
      }),
    );
    expect([...connections.keys()]).toEqual(['a', 'b.tenant_2']);
    expect(connections.get('b.tenant_2')?.auth).toMatchObject({
      tokenUrl: 'https://login.microsoftonline.us/contoso.onmicrosoft.com/oauth2/v2.0/token',
      scope: 'https://outlook.office365.us/.default',
    });
  });

  it('accepts no credentials and plain http only for a loopback simulator', () => {
    const connections = value(
      parseConnections({
        sim: {
          ewsUrl: 'http://127.0.0.1:8085/EWS/Exchange.asmx',
          auth: { kind: 'none' },
          impersonation: false,
        },
        simBasic: { ...onPremises, ewsUrl: 'http://localhost:8085/EWS/Exchange.asmx' },
        simV6: { ewsUrl: 'http://[::1]:8085/EWS/Exchange.asmx', auth: { kind: 'none' } },
      }),
    );
    expect(connections.get('sim')).toMatchObject({ auth: { kind: 'none' }, impersonation: false });
    expect(connections.get('simBasic')?.ewsUrl).toBe('http://localhost:8085/EWS/Exchange.asmx');
    expect(connections.get('simV6')?.impersonation).toBe(true);
  });

  it('accepts an empty object: no connections configured yet', () => {
    expect(value(parseConnections({})).size).toBe(0);
  });
});

describe('parseConnections: every bad field is named, shown and explained', () => {
  it.each([
    ['null', null],
    ['an array', [online]],
    ['a string', 'online'],
  ])('refuses a document that is %s', (_label, json) => {
    const problem = onlyProblem(json);
    expect(problem).toMatchObject({ connection: null, field: null, problem: 'is not a JSON object' });
    expect(problem.fix).toMatch(/connection names/);
  });

  it.each([
    ['a space', 'my connection'],
    ['an empty name', ''],
    ['a slash', 'a/b'],
  ])('refuses a connection name with %s', (_label, name) => {
    const problem = onlyProblem({ [name]: online });
    expect(problem).toMatchObject({
      connection: name,
      field: null,
      problem: 'is not a usable connection name',
    });
  });

  it('refuses a connection that is not an object', () => {
    expect(onlyProblem({ x: 'https://mail.example.com/EWS/Exchange.asmx' })).toMatchObject({
      connection: 'x',
      value: '"https://mail.example.com/EWS/Exchange.asmx"',
      problem: 'is not an object',
    });
  });

  it('names an unknown field without showing its value (it may be a misspelled secret)', () => {
    const problems = problemsOf({
      online: { ...online, timeout: 5, auth: { ...online.auth, clientSecrte: CLIENT_SECRET } },
    });
    expect(problems.map((p) => [p.field, p.value, p.problem])).toEqual([
      ['timeout', null, 'is not a known field'],
      ['auth.clientSecrte', null, 'is not a known field'],
    ]);
    expect(problems[1]?.fix).toContain('clientSecret');
  });

  it.each<[string, unknown, string | null, RegExp]>([
    ['missing', undefined, null, /is missing/],
    ['a number', 443, '443', /not a URL string/],
    ['not absolute', '/EWS/Exchange.asmx', '"/EWS/Exchange.asmx"', /not an absolute URL/],
    ['ftp', 'ftp://mail.example.com/EWS', '"ftp://mail.example.com/EWS"', /has scheme "ftp"/],
    [
      'with a fragment',
      'https://mail.example.com/EWS/Exchange.asmx#x',
      '"https://mail.example.com/EWS/Exchange.asmx#x"',
      /#fragment/,
    ],
  ])('refuses ewsUrl %s', (_label, ewsUrl, shown, problem) => {
    const found = onlyProblem({ c: { ...onPremises, ewsUrl } });
    expect(found).toMatchObject({ connection: 'c', field: 'ewsUrl', value: shown });
    expect(found.problem).toMatch(problem);
  });

  it('refuses credentials inside ewsUrl and does not repeat them', () => {
    const found = onlyProblem({
      c: { ...onPremises, ewsUrl: `https://svc:${PASSWORD}@mail.example.com/EWS/Exchange.asmx` },
    });
    expect(found).toMatchObject({
      field: 'ewsUrl',
      value: '"https://…@mail.example.com/EWS/Exchange.asmx"',
      problem: 'carries credentials in the URL',
    });
  });

  it('masks credentials in a URL that does not even parse', () => {
    expect(safeUrlText(`https://svc:${PASSWORD}@bad host/`)).toBe('https://…@bad host/');
    const found = onlyProblem({ c: { ...onPremises, ewsUrl: `https://svc:${PASSWORD}@bad host/EWS` } });
    expect(found.problem).toBe('is not an absolute URL');
  });

  it.each<[string, unknown, string, RegExp]>([
    ['missing', undefined, 'auth', /is missing/],
    ['a string', 'oauth2', 'auth', /is not an object/],
    ['without a kind', { tenantId: TENANT }, 'auth.kind', /is missing/],
    ['of an unknown kind', { kind: 'ntlm' }, 'auth.kind', /not a known kind/],
  ])('refuses auth %s', (_label, auth, field, problem) => {
    const found = onlyProblem({ c: { ewsUrl: onPremises.ewsUrl, auth } });
    expect(found.field).toBe(field);
    expect(found.problem).toMatch(problem);
    expect(found.fix).toMatch(/oauth2/);
  });

  describe('oauth2', () => {
    it.each<[string, Record<string, unknown>, string, string | null, RegExp]>([
      ['a missing tenantId', { tenantId: undefined }, 'auth.tenantId', null, /is missing/],
      ['a numeric tenantId', { tenantId: 42 }, 'auth.tenantId', '42', /is a number, not a string/],
      ['the "common" tenant', { tenantId: 'common' }, 'auth.tenantId', '"common"', /multi-tenant alias/],
      [
        'a tenantId that is no GUID or domain',
        { tenantId: 'my tenant' },
        'auth.tenantId',
        '"my tenant"',
        /neither a GUID nor a domain/,
      ],
      [
        'a clientId that is no GUID',
        { clientId: 'bridge-app' },
        'auth.clientId',
        '"bridge-app"',
        /is not a GUID/,
      ],
      ['an empty clientId', { clientId: ' ' }, 'auth.clientId', null, /is empty/],
      ['a missing clientSecret', { clientSecret: undefined }, 'auth.clientSecret', null, /is missing/],
      ['an empty clientSecret', { clientSecret: '' }, 'auth.clientSecret', null, /is empty/],
      ['a clientSecret that is no string', { clientSecret: 12345 }, 'auth.clientSecret', null, /is a number/],
      [
        'a clientSecret with a newline',
        { clientSecret: `${CLIENT_SECRET}\n` },
        'auth.clientSecret',
        null,
        /control characters/,
      ],
      [
        'a plain-http tokenUrl',
        { tokenUrl: 'http://login.example.com/token' },
        'auth.tokenUrl',
        '"http://login.example.com/token"',
        /plain http/,
      ],
      ['a tokenUrl that is no URL', { tokenUrl: 'login' }, 'auth.tokenUrl', '"login"', /not an absolute URL/],
      [
        'a scope without /.default',
        { scope: 'EWS.AccessAsUser.All' },
        'auth.scope',
        '"EWS.AccessAsUser.All"',
        /\/\.default/,
      ],
    ])('refuses %s', (_label, patch, field, shown, problem) => {
      const found = onlyProblem(withOnlineAuth(patch));
      expect(found).toMatchObject({ connection: 'online', field, value: shown });
      expect(found.problem).toMatch(problem);
      expect(found.fix.length).toBeGreaterThan(10);
    });

    it('refuses impersonation false: app-only tokens need it', () => {
      expect(onlyProblem(withOnline({ impersonation: false }))).toMatchObject({
        field: 'impersonation',
        value: 'false',
        problem: expect.stringContaining('cannot be false for oauth2'),
      });
    });

    it('refuses sending a bearer token over plain http to a remote host', () => {
      const found = onlyProblem(withOnline({ ewsUrl: 'http://mail.example.com/EWS/Exchange.asmx' }));
      expect(found).toMatchObject({
        field: 'ewsUrl',
        problem: expect.stringContaining('access token in clear'),
      });
    });
  });

  describe('basic', () => {
    it.each<[string, Record<string, unknown>, string, string | null, RegExp]>([
      ['a missing username', { username: undefined }, 'auth.username', null, /is missing/],
      [
        'a username with a colon',
        { username: 'EXAMPLE:svc' },
        'auth.username',
        '"EXAMPLE:svc"',
        /contains ":"/,
      ],
      ['a missing password', { password: undefined }, 'auth.password', null, /is missing/],
      ['an empty password', { password: '' }, 'auth.password', null, /is empty/],
      [
        'a password that is an object',
        { password: { value: PASSWORD } },
        'auth.password',
        null,
        /is an object/,
      ],
    ])('refuses %s', (_label, patch, field, shown, problem) => {
      const found = onlyProblem(withBasicAuth(patch));
      expect(found).toMatchObject({ connection: 'onprem', field, value: shown });
      expect(found.problem).toMatch(problem);
    });

    it('refuses Basic over plain http unless the host is loopback', () => {
      const found = onlyProblem(withBasic({ ewsUrl: 'http://mail.example.com/EWS/Exchange.asmx' }));
      expect(found).toMatchObject({
        field: 'ewsUrl',
        value: '"http://mail.example.com/EWS/Exchange.asmx"',
        problem: expect.stringContaining('password in clear'),
        fix: expect.stringContaining('https://'),
      });
    });

    it('refuses Basic against Exchange Online', () => {
      const found = onlyProblem(withBasic({ ewsUrl: 'https://outlook.office365.com/EWS/Exchange.asmx' }));
      expect(found).toMatchObject({
        field: 'auth.kind',
        value: '"basic"',
        fix: expect.stringContaining('oauth2'),
      });
    });
  });

  it('refuses auth kind "none" for anything but a loopback host, https included', () => {
    const found = onlyProblem({
      c: { ewsUrl: 'https://mail.example.com/EWS/Exchange.asmx', auth: { kind: 'none' } },
    });
    expect(found).toMatchObject({
      field: 'auth.kind',
      value: '"none"',
      problem: expect.stringContaining('loopback'),
    });
  });

  it.each<[string, Record<string, unknown>, string, string, RegExp]>([
    ['impersonation as a string', { impersonation: 'yes' }, 'impersonation', '"yes"', /not true or false/],
    [
      'an unknown requestServerVersion',
      { requestServerVersion: 'Exchange2019' },
      'requestServerVersion',
      '"Exchange2019"',
      /Exchange version/,
    ],
    ['a fractional timeoutMs', { timeoutMs: 1.5 }, 'timeoutMs', '1.5', /whole number/],
    ['a timeoutMs in quotes', { timeoutMs: '30000' }, 'timeoutMs', '"30000"', /whole number/],
    ['a timeoutMs too small', { timeoutMs: 10 }, 'timeoutMs', '10', /from 100 to 600000/],
    ['a timeoutMs too large', { timeoutMs: 3_600_000 }, 'timeoutMs', '3600000', /from 100 to 600000/],
  ])('refuses %s', (_label, patch, field, shown, problem) => {
    const found = onlyProblem(withBasic(patch));
    expect(found).toMatchObject({ connection: 'onprem', field, value: shown });
    expect(found.problem).toMatch(problem);
  });

  it('lists every problem of every connection in one error, each on its own line', () => {
    const result = parseConnections(
      {
        good: onPremises,
        bad1: { ...online, auth: { ...online.auth, clientId: 'x' }, timeoutMs: 0 },
        bad2: { auth: { kind: 'basic', username: 'u' } },
      },
      { origin: 'secret "exchange-connections"' },
    );
    if (result.ok) throw new Error('expected failure');
    expect(result.error.origin).toBe('secret "exchange-connections"');
    expect(result.error.problems.map((p) => `${p.connection} ${p.field}`)).toEqual([
      'bad1 auth.clientId',
      'bad1 timeoutMs',
      'bad2 ewsUrl',
      'bad2 auth.password',
    ]);
    const lines = result.error.message.split('\n');
    expect(lines[0]).toBe('Exchange connection config in secret "exchange-connections" has 4 problems:');
    expect(lines[1]).toBe(
      '  - connection "bad1", field auth.clientId: "x" is not a GUID; use the Application (client) ID from the app registration\'s overview page (not its name or object ID)',
    );
  });

  it('writes a single problem on one line, naming connection, field, value and fix', () => {
    const result = parseConnections(withOnlineAuth({ tenantId: 'common' }));
    if (result.ok) throw new Error('expected failure');
    expect(result.error.message).toBe(
      'Exchange connection config is invalid: connection "online", field auth.tenantId: "common" is a multi-tenant alias, which the client credentials grant does not accept; use the Directory (tenant) ID GUID of the tenant whose mailboxes the bridge watches',
    );
  });
});

describe('credentialHint', () => {
  it('names the credential fields and non-secret ids, never the secrets', () => {
    const connections = value(parseConnections({ online, onprem: onPremises }));
    const hints = [...connections.values()].map(credentialHint);
    expect(hints[0]).toContain(CLIENT);
    expect(hints[0]).toContain('auth.clientSecret');
    expect(hints[1]).toContain('"svc-ews@example.com"');
    expect(hints.join()).not.toContain(CLIENT_SECRET);
    expect(hints.join()).not.toContain(PASSWORD);
  });
});
