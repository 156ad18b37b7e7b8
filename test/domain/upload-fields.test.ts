import { expect } from 'chai';
import { parseUploadFields } from '../../src/domain/upload-fields.ts';

const fields = (o: Record<string, string | string[]>): Map<string, string[]> =>
  new Map(Object.entries(o).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]));
const base = { client_id: 'c1', dest: '/srv/x' };

describe('upload form fields', () => {
  it('defaults: force and sync false, no mode, no owner', () => {
    expect(parseUploadFields(fields(base))).to.deep.equal({
      ok: true,
      value: {
        destination: '/srv/x',
        force: false,
        sync: false,
        mode: undefined,
        ownership: { user: undefined, group: undefined },
        targets: { clientIds: ['c1'], groupIds: [] },
        check: false,
        diff: false,
      },
    });
  });
  it('check and diff are Go booleans like force and sync', () => {
    const r = parseUploadFields(fields({ ...base, check: 'T', diff: '1' }));
    expect(r.ok && [r.value.check, r.value.diff]).to.deep.equal([true, true]);
    const off = parseUploadFields(fields({ ...base, check: 'false', diff: '0' }));
    expect(off.ok && [off.value.check, off.value.diff]).to.deep.equal([false, false]);
  });
  // Exactly the spellings Go's strconv.ParseBool reads, as openrport does.
  for (const [v, b] of [
    ['1', true],
    ['t', true],
    ['T', true],
    ['TRUE', true],
    ['true', true],
    ['True', true],
    ['0', false],
    ['f', false],
    ['F', false],
    ['FALSE', false],
    ['false', false],
    ['False', false],
  ] as const) {
    it(`force "${v}" is ${b}`, () => {
      const r = parseUploadFields(fields({ ...base, force: v, sync: v }));
      expect(r.ok && [r.value.force, r.value.sync]).to.deep.equal([b, b]);
    });
  }
  for (const v of ['on', 'YES', 'off', 'no', '', ' true', 'tRUE', 'yes']) {
    it(`force ${JSON.stringify(v)} is outside Go's set: 400 naming force (and sync alike)`, () => {
      for (const field of ['force', 'sync']) {
        const r = parseUploadFields(fields({ ...base, [field]: v }));
        expect(!r.ok && r.rejection).to.deep.include({ kind: 'invalid', field });
        expect(!r.ok && r.rejection.detail).to.include('1 t T TRUE true True 0 f F FALSE false False');
      }
    });
  }
  const bad: [string, Record<string, string | string[]>][] = [
    ['force', { force: 'maybe' }],
    ['sync', { sync: '2' }],
    ['check', { check: 'yes' }],
    ['diff', { diff: 'on' }],
    ['mode', { mode: '0999' }],
    ['user', { user: '-R' }],
    ['group', { group: 'a b' }],
    ['id', { id: 'id-123' }],
    ['tags', { tags: 'linux' }],
  ];
  for (const [field, extra] of bad) {
    it(`a bad ${field} is rejected naming the field ${field}`, () => {
      const r = parseUploadFields(fields({ ...base, ...extra }));
      expect(!r.ok && r.rejection).to.deep.include({ kind: 'invalid', field });
    });
  }
  it('a Windows destination is accepted and normalised', () => {
    const r = parseUploadFields(fields({ ...base, dest: 'c:/Temp/x.txt' }));
    expect(r.ok && r.value.destination).to.equal('C:\\Temp\\x.txt');
  });
  it('destinations the server never writes to are rejected: /proc, /sys, /dev, /run', () => {
    for (const dest of ['/proc/1/mem', '/sys/kernel/x', '/dev/sda', '/run/x', '/tmp/../proc/x']) {
      const r = parseUploadFields(fields({ ...base, dest }));
      expect(!r.ok && r.rejection, dest).to.deep.include({ kind: 'bad-destination', field: 'dest' });
    }
  });
  it('a dest given but refused is bad-destination; a missing one is a plain invalid field', () => {
    const relative = parseUploadFields(fields({ ...base, dest: 'srv/x' }));
    expect(!relative.ok && relative.rejection).to.deep.include({ kind: 'bad-destination', field: 'dest' });
    const missing = parseUploadFields(fields({ client_id: 'c1' }));
    expect(!missing.ok && missing.rejection).to.deep.include({ kind: 'invalid', field: 'dest' });
  });
  it('unknown fields are ignored, as openrport ignores them', () => {
    const r = parseUploadFields(fields({ ...base, colour: 'red', 'client-id': 'x' }));
    expect(r.ok && r.value.destination).to.equal('/srv/x');
  });
  it('a repeated single-valued field counts by its first value (Go form values)', () => {
    const r = parseUploadFields(
      fields({ ...base, dest: ['/a', '/b'], force: ['1', 'maybe'], mode: ['0644', 'x'], user: ['u1', 'u2'] }),
    );
    expect(r.ok && [r.value.destination, r.value.force, r.value.mode, r.value.ownership.user]).to.deep.equal([
      '/a',
      true,
      0o644,
      'u1',
    ]);
  });
  it('id: a UUID becomes the upload id, lower-cased; empty means none; anything else names id', () => {
    const u = 'B4F795EF-718F-4F69-8F6F-B304B38A904F';
    const r = parseUploadFields(fields({ ...base, id: u }));
    expect(r.ok && r.value.id).to.equal(u.toLowerCase());
    const empty = parseUploadFields(fields({ ...base, id: '' }));
    expect(empty.ok && empty.value.id).to.equal(undefined);
    for (const id of ['id-123', '../../etc/passwd', `${u}x`, `{${u}}`, u.replace(/-/g, '')]) {
      const bad = parseUploadFields(fields({ ...base, id }));
      expect(!bad.ok && bad.rejection, id).to.deep.include({ kind: 'invalid', field: 'id' });
    }
  });
  it("tags: openrport's JSON object selects by tag, OR by default, AND in any case", () => {
    const t = (tags: string) => parseUploadFields(fields({ dest: '/x', tags }));
    const or = t('{\n  "tags": ["linux"],\n  "operator": "OR"\n}');
    expect(or.ok && or.value.targets).to.deep.equal({
      clientIds: [],
      groupIds: [],
      tags: { tags: ['linux'], operator: 'OR' },
    });
    const dflt = t('{"tags":["linux","web"]}');
    expect(dflt.ok && dflt.value.targets.tags).to.deep.equal({ tags: ['linux', 'web'], operator: 'OR' });
    const and = t('{"tags":["linux","web"],"operator":"and"}');
    expect(and.ok && and.value.targets.tags?.operator).to.equal('AND');
  });
  const badTags: [string, string | string[], RegExp][] = [
    ['empty list', '{"tags":[],"operator":"OR"}', /no tags specified/],
    ['no list', '{"operator":"OR"}', /no tags specified/],
    ['not JSON', 'linux', /not JSON/],
    ['an array', '["linux"]', /JSON object/],
    ['numbers', '{"tags":[1]}', /list of strings/],
    ['an unknown operator', '{"tags":["a"],"operator":"XOR"}', /must be "OR" or "AND"/],
    ['sent twice', ['{"tags":["a"]}', '{"tags":["b"]}'], /more than once/],
  ];
  for (const [what, tags, detail] of badTags) {
    it(`tags: ${what} is 400 naming tags`, () => {
      const r = parseUploadFields(fields({ dest: '/x', tags }));
      expect(!r.ok && r.rejection).to.deep.include({ kind: 'invalid', field: 'tags' });
      expect(!r.ok && r.rejection.detail).to.match(detail);
    });
  }
  it('tags cannot be combined with client_id or group_id (openrport: multiple targeting options)', () => {
    for (const other of [{ client_id: 'c1' }, { group_id: 'g' }, { client_id: '' }] as Record<
      string,
      string
    >[]) {
      const r = parseUploadFields(fields({ dest: '/x', tags: '{"tags":["linux"]}', ...other }));
      expect(!r.ok && r.rejection).to.deep.include({ kind: 'invalid', field: 'tags' });
      expect(!r.ok && r.rejection.detail).to.include('multiple targeting options are not supported');
    }
  });
  it('repeated and blank client ids are reduced to unique ones', () => {
    const r = parseUploadFields(
      fields({ dest: '/x', client_id: ['a', ' a ', '', 'b'], group_id: ['g', 'g'] }),
    );
    expect(r.ok && r.value.targets).to.deep.equal({ clientIds: ['a', 'b'], groupIds: ['g'] });
  });
  it('offline_ttl: whole seconds from 0 to 30 days; absent or blank means the server default', () => {
    const ttl = (v?: string) => {
      const r = parseUploadFields(fields(v === undefined ? base : { ...base, offline_ttl: v }));
      return r.ok ? r.value.offlineTtl : r.rejection;
    };
    expect(ttl()).to.equal(undefined);
    expect(ttl(' ')).to.equal(undefined);
    expect(ttl('0')).to.equal(0);
    expect(ttl('600')).to.equal(600);
    expect(ttl('2592000')).to.equal(2592000);
    for (const bad of ['2592001', '-1', '1.5', '10m', '1e3'])
      expect(ttl(bad), bad).to.deep.include({ kind: 'invalid', field: 'offline_ttl' });
    // Like every single-valued field (Go form values): sent twice, the first value counts.
    const twice = parseUploadFields(fields({ ...base, offline_ttl: ['1', '2'] }));
    expect(twice.ok && twice.value.offlineTtl).to.equal(1);
  });

  it('blank user and group mean "not given"', () => {
    const r = parseUploadFields(fields({ ...base, user: ' ', group: '' }));
    expect(r.ok && r.value.ownership).to.deep.equal({ user: undefined, group: undefined });
  });

  it('validate: a validator name passes; empty means none; a command line is refused naming validate', () => {
    const ok = parseUploadFields(fields({ ...base, validate: 'nginx.conf-check_2' }));
    expect(ok.ok && ok.value.validate).to.equal('nginx.conf-check_2');
    const none = parseUploadFields(fields({ ...base, validate: '' }));
    expect(none.ok && 'validate' in none.value).to.equal(false);
    for (const bad of ['/usr/sbin/nginx -t', 'a;reboot', '-rf', 'x'.repeat(65), '../x']) {
      const r = parseUploadFields(fields({ ...base, validate: bad }));
      expect(r.ok, bad).to.equal(false);
      if (!r.ok) {
        expect(r.rejection.field).to.equal('validate');
        expect(r.rejection.detail).to.contain('never a command');
      }
    }
  });

  it("backup: absent leaves it to the agents; true and false are the push's own; anything else names backup", () => {
    const absent = parseUploadFields(fields(base));
    expect(absent.ok && 'backup' in absent.value).to.equal(false);
    const on = parseUploadFields(fields({ ...base, backup: 'true' }));
    expect(on.ok && on.value.backup).to.equal(true);
    const off = parseUploadFields(fields({ ...base, backup: '0' }));
    expect(off.ok && off.value.backup).to.equal(false);
    const bad = parseUploadFields(fields({ ...base, backup: 'maybe' }));
    expect(!bad.ok && bad.rejection.field).to.equal('backup');
  });
});
