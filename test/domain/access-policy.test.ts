import { expect } from 'chai';
import { mayAccessClient, type Caller } from '../../src/domain/caller.ts';
import { clientsOfGroup, groupMatches } from '../../src/domain/client-group.ts';
import { client, group } from './support/server-fixture.ts';

describe('client-group matching', () => {
  const web1 = client('c-web-1', {
    name: 'web-1',
    hostname: 'web1.example.org',
    os: 'linux',
    tags: ['prod', 'eu/west'],
  });
  const db1 = client('c-db-1', { name: 'db-1', hostname: 'db1.example.org', os: 'windows', tags: ['prod'] });

  it('a client matches when every given attribute matches one of its patterns', () => {
    const g = group('g', { name: ['web-*'], tag: ['prod'] });
    expect(groupMatches(g, web1)).to.equal(true);
    expect(groupMatches(g, db1)).to.equal(false);
  });
  it('patterns ignore case and * spans any characters', () => {
    expect(groupMatches(group('g', { hostname: ['WEB*.EXAMPLE.ORG'] }), web1)).to.equal(true);
    expect(groupMatches(group('g', { tag: ['eu/*'] }), web1)).to.equal(true);
  });
  it('any one of several patterns of an attribute is enough', () => {
    expect(groupMatches(group('g', { client_id: ['nope', 'c-db-*'] }), db1)).to.equal(true);
  });
  it('a group without any pattern matches no client', () => {
    expect(groupMatches(group('g', {}), web1)).to.equal(false);
    expect(groupMatches(group('g', { name: [] }), web1)).to.equal(false);
  });
  it('a group by os selects the clients of that os', () => {
    expect(clientsOfGroup(group('g', { os: ['win*'] }), [web1, db1]).map((c) => c.id)).to.deep.equal([
      'c-db-1',
    ]);
  });
});

describe('access policy', () => {
  const web = client('c-web', { name: 'web' });
  const db = client('c-db', { name: 'db' });
  const groups = [group('webs', { name: ['web'] }, ['Web Admins'])];
  const admin: Caller = { username: 'root', admin: true, groups: ['Administrators'] };
  const webAdmin: Caller = { username: 'wendy', admin: false, groups: ['Web Admins'] };
  const nobody: Caller = { username: 'ned', admin: false, groups: ['Other'] };

  it('an administrator may push to every client', () => {
    expect(mayAccessClient(admin, db, groups)).to.equal(true);
  });
  it('a user may push to the clients of a group allowed for one of their user groups', () => {
    expect(mayAccessClient(webAdmin, web, groups)).to.equal(true);
  });
  it('a user may not push to a client outside the groups allowed for them', () => {
    expect(mayAccessClient(webAdmin, db, groups)).to.equal(false);
    expect(mayAccessClient(nobody, web, groups)).to.equal(false);
  });
});
