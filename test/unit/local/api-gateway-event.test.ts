import { describe, expect, it } from 'vitest';
import { matchRoute } from '../../../local/api-gateway-event.ts';

const route = '/ews/{mailboxKey}/{generation}/{token}';

describe('matchRoute', () => {
  it('gives the decoded path parameters of a path the route matches', () => {
    expect(matchRoute(route, '/ews/Ab_c/3/t%2Bk%3D')).toEqual({
      mailboxKey: 'Ab_c',
      generation: '3',
      token: 't+k=',
    });
  });

  it('matches nothing when a segment is empty, missing or extra', () => {
    for (const path of ['/ews//3/t', '/ews/a/3', '/ews/a/3/t/x', '/other/a/3/t'])
      expect(matchRoute(route, path), path).toBeUndefined();
  });

  it('matches nothing when a segment is not valid percent-encoding, as API Gateway answers 404', () => {
    for (const token of ['%', '%ZZ', 'abc%4', '%C3', '%E0%A4%A', '%FF%FE'])
      expect(matchRoute(route, `/ews/a/3/${token}`), token).toBeUndefined();
  });
});
