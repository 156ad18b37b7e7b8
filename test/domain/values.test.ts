import { expect } from 'chai';
import { formatMode, parseMode, DEFAULT_DIR_MODE, DEFAULT_FILE_MODE } from '../../src/domain/file-mode.ts';
import { globMatch, globToRegExp } from '../../src/domain/glob.ts';
import { isPlainAccountName, ownershipProblem } from '../../src/domain/ownership.ts';
import { hasTargets } from '../../src/domain/target-selector.ts';
import { errorCode, isPermissionDenied, messageOf } from '../../src/domain/errors.ts';
import { KeyedQueue } from '../../src/domain/keyed-queue.ts';

describe('file mode parsing', () => {
  const good: [string, number][] = [
    ['0644', 0o644],
    ['644', 0o644],
    ['0764', 0o764],
    ['4755', 0o4755],
    ['0', 0],
    [' 0600 ', 0o600],
    ['07777', 0o7777],
  ];
  for (const [text, mode] of good) {
    it(`"${text}" is the octal mode ${mode.toString(8)}`, () => {
      expect(parseMode(text)).to.deep.equal({ mode });
    });
  }
  for (const text of ['0888', '99999', 'rwxr-xr-x', '0x1ff', '-644', '1.5', '010000']) {
    it(`"${text}" is rejected, naming the value and the expected form`, () => {
      const r = parseMode(text);
      expect(r.mode).to.equal(undefined);
      expect(r.problem).to.contain(text).and.contain('octal');
    });
  }
  it('an empty or absent mode means "not given"', () => {
    expect(parseMode(undefined)).to.deep.equal({});
    expect(parseMode('  ')).to.deep.equal({});
  });
  it('the default file mode is 0764 and the default directory mode is 0755', () => {
    expect(DEFAULT_FILE_MODE).to.equal(0o764);
    expect(DEFAULT_DIR_MODE).to.equal(0o755);
  });
  it('modes are formatted as 4-digit octal', () => {
    expect(formatMode(0o644)).to.equal('0644');
    expect(formatMode(0o4755)).to.equal('04755');
  });
});

describe('owner and group names', () => {
  for (const n of ['hero', 'staff', '_apt', 'www-data', 'user.name', 'machine$', '1000']) {
    it(`"${n}" is a plain account name`, () => expect(isPlainAccountName(n)).to.equal(true));
  }
  for (const n of ['-R', '--reference=/etc/shadow', 'a b', 'a;rm', 'a/b', '', 'x'.repeat(40), 'a:b']) {
    it(`"${n}" is refused, so it can never be an option or a second argument to chown`, () =>
      expect(isPlainAccountName(n)).to.equal(false));
  }
  it('the problem names the field at fault', () => {
    expect(ownershipProblem({ user: 'ok', group: '-x' })).to.contain('group "-x"');
    expect(ownershipProblem({ user: '-x' })).to.contain('user "-x"');
    expect(ownershipProblem({})).to.equal(undefined);
  });
});

describe('glob', () => {
  it('* stays within one path segment, ** crosses segments', () => {
    expect(globToRegExp('/lib*').test('/lib64')).to.equal(true);
    expect(globToRegExp('/lib*').test('/lib/x')).to.equal(false);
    expect(globToRegExp('/a/**').test('/a/b/c')).to.equal(true);
  });
  it('? is one character and [..] a class, [!..] a negated class', () => {
    expect(globToRegExp('/a?c').test('/abc')).to.equal(true);
    expect(globToRegExp('/a?c').test('/a/c')).to.equal(false);
    expect(globToRegExp('/x[0-9]').test('/x7')).to.equal(true);
    expect(globToRegExp('/x[!0-9]').test('/x7')).to.equal(false);
    expect(globToRegExp('/x[!0-9]').test('/xa')).to.equal(true);
  });
  it('an unclosed [ and regex characters are literal', () => {
    expect(globToRegExp('/a[b').test('/a[b')).to.equal(true);
    expect(globToRegExp('/a.b+(c)').test('/a.b+(c)')).to.equal(true);
    expect(globToRegExp('/a.b').test('/axb')).to.equal(false);
  });
  it('with the Windows separator, * stays within a backslash segment', () => {
    const re = globToRegExp('C:\\Windows\\*.exe', { separator: '\\', caseInsensitive: true });
    expect(re.test('c:\\windows\\x.EXE')).to.equal(true);
    expect(re.test('C:\\Windows\\sub\\x.exe')).to.equal(false);
  });
  it('for client attributes, * matches any characters and case is ignored when asked', () => {
    expect(globMatch('env/*', 'env/prod/eu')).to.equal(true);
    expect(globMatch('WEB-*', 'web-01', true)).to.equal(true);
    expect(globMatch('WEB-*', 'web-01')).to.equal(false);
  });
});

describe('small helpers', () => {
  it('a target selector needs at least one client or group', () => {
    expect(hasTargets({ clientIds: [], groupIds: [] })).to.equal(false);
    expect(hasTargets({ clientIds: [], groupIds: ['g'] })).to.equal(true);
  });
  it('permission errors are recognised by their code', () => {
    expect(isPermissionDenied(Object.assign(new Error('x'), { code: 'EPERM' }))).to.equal(true);
    expect(isPermissionDenied(Object.assign(new Error('x'), { code: 'EACCES' }))).to.equal(true);
    expect(isPermissionDenied(Object.assign(new Error('x'), { code: 'ENOENT' }))).to.equal(false);
    expect(isPermissionDenied('EPERM')).to.equal(false);
    expect(errorCode({ code: 5 })).to.equal(undefined);
    expect(messageOf('plain')).to.equal('plain');
  });
  it('a keyed queue runs same-key tasks in order even after a failure', async () => {
    const q = new KeyedQueue();
    const order: string[] = [];
    const a = q.run('k', async () => {
      await Promise.resolve();
      order.push('a');
      throw new Error('a failed');
    });
    const b = q.run('k', async () => void order.push('b'));
    await a.catch(() => undefined);
    await b;
    expect(order).to.deep.equal(['a', 'b']);
  });
});
