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
      },
    });
  });
  for (const [v, b] of [
    ['true', true],
    ['1', true],
    ['on', true],
    ['YES', true],
    ['false', false],
    ['0', false],
    ['off', false],
    ['', false],
  ] as const) {
    it(`force "${v}" is ${b}`, () => {
      const r = parseUploadFields(fields({ ...base, force: v, sync: v }));
      expect(r.ok && [r.value.force, r.value.sync]).to.deep.equal([b, b]);
    });
  }
  const bad: [string, Record<string, string | string[]>][] = [
    ['force', { force: 'maybe' }],
    ['sync', { sync: '2' }],
    ['mode', { mode: '0999' }],
    ['user', { user: '-R' }],
    ['group', { group: 'a b' }],
    ['dest', { dest: ['/a', '/b'] }],
    ['colour', { colour: 'red' }],
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
      expect(!r.ok && r.rejection, dest).to.deep.include({ kind: 'invalid', field: 'dest' });
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
    expect(parseUploadFields(fields({ ...base, offline_ttl: ['1', '2'] }))).to.deep.include({
      ok: false,
      rejection: { kind: 'invalid', field: 'offline_ttl', detail: 'offline_ttl was given more than once' },
    });
  });

  it('blank user and group mean "not given"', () => {
    const r = parseUploadFields(fields({ ...base, user: ' ', group: '' }));
    expect(r.ok && r.value.ownership).to.deep.equal({ user: undefined, group: undefined });
  });
});
