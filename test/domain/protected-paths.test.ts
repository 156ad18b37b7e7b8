import { expect } from 'chai';
import {
  checkDestination,
  flavorOf,
  normalizePosix,
  normalizeWindows,
  selfAndAncestors,
} from '../../src/domain/destination.ts';
import { linkRefusal, protectedRefusal } from '../../src/domain/destination-refusal.ts';
import {
  DEFAULT_PROTECTED_POSIX,
  DEFAULT_PROTECTED_WINDOWS,
  ProtectedPaths,
} from '../../src/domain/protected-paths.ts';
import { makeAgent } from './support/agent-fixture.ts';

describe('protected paths, POSIX defaults', () => {
  const posix = ProtectedPaths.defaults('posix');

  it('the POSIX defaults are /bin, /sbin, /boot, /usr/bin, /usr/sbin, /dev, /lib*, /run', () => {
    expect(DEFAULT_PROTECTED_POSIX).to.deep.equal([
      '/bin',
      '/sbin',
      '/boot',
      '/usr/bin',
      '/usr/sbin',
      '/dev',
      '/lib*',
      '/run',
    ]);
  });

  for (const p of [
    '/bin',
    '/sbin',
    '/boot',
    '/usr/bin',
    '/usr/sbin',
    '/dev',
    '/lib',
    '/lib64',
    '/libx32',
    '/run',
  ]) {
    it(`a protected path itself is rejected: ${p}`, () => {
      expect(posix.refusing(p)).to.be.a('string');
    });
  }

  for (const p of [
    '/bin/yourfile.txt',
    '/bin/somefile.csv',
    '/usr/bin/a/b/c/d/e',
    '/boot/grub/grub.cfg',
    '/lib64/x/y.so',
    '/run/lock/x',
  ]) {
    it(`anywhere beneath a protected path, at any depth, is rejected: ${p}`, () => {
      expect(posix.refusing(p)).to.be.a('string');
    });
  }

  for (const p of [
    '//bin/x',
    '/usr//bin/x',
    '/etc/../bin/x',
    '/./usr/./sbin/x',
    '/tmp/a/../../dev/x',
    '/../../bin/x',
    '/usr/bin/.',
  ]) {
    it(`a path that normalises to a protected one is rejected: ${p}`, () => {
      expect(posix.refusing(p)).to.be.a('string');
    });
  }

  for (const p of [
    '/etc/bin/yourfile.txt',
    '/binary/x',
    '/usr/local/bin/x',
    '/home/run/x',
    '/var/lib/x',
    '/tmp/dev',
  ]) {
    it(`a path that only looks like a protected one is allowed: ${p}`, () => {
      expect(posix.refusing(p)).to.equal(undefined);
    });
  }

  it('refusing names the pattern that matched', () => {
    expect(posix.refusing('/lib64/x')).to.equal('/lib*');
  });

  it('POSIX matching is case-sensitive: /BIN/x is a different directory', () => {
    expect(posix.refusing('/BIN/x')).to.equal(undefined);
  });

  it('an invalid destination is not matched (it is rejected elsewhere)', () => {
    expect(posix.refusing('bin/x')).to.equal(undefined);
  });

  it('a pattern written with a trailing slash protects the directory too', () => {
    expect(new ProtectedPaths(['/etc/'], 'posix').refusing('/etc/passwd')).to.equal('/etc/');
  });

  it('"**" in a pattern crosses directories', () => {
    const p = new ProtectedPaths(['/opt/**/secret'], 'posix');
    expect(p.refusing('/opt/a/b/secret/x')).to.equal('/opt/**/secret');
    expect(p.refusing('/opt/a/b/public/x')).to.equal(undefined);
  });
});

describe('protected paths, Windows defaults', () => {
  const win = ProtectedPaths.defaults('windows');

  it('the Windows defaults are C:\\Windows\\ and C:\\ProgramData', () => {
    expect(DEFAULT_PROTECTED_WINDOWS).to.deep.equal(['C:\\Windows\\', 'C:\\ProgramData']);
  });

  const rejected: [string, string][] = [
    ['the path itself', 'C:\\Windows'],
    ['the path itself', 'C:\\ProgramData'],
    ['beneath', 'C:\\Windows\\notepad.exe'],
    ['deep beneath', 'C:\\Windows\\System32\\drivers\\etc\\hosts'],
    ['beneath ProgramData', 'C:\\ProgramData\\app\\x.ini'],
    ['lower case', 'c:\\windows\\x.dll'],
    ['upper case', 'C:\\WINDOWS\\X.DLL'],
    ['mixed case', 'c:\\PrOgRaMdAtA\\x'],
    ['forward slashes', 'C:/Windows/x.dll'],
    ['mixed separators', 'C:\\Windows/System32\\x'],
    ['doubled separators', 'C:\\\\Windows\\\\x'],
    ['".." climbing back', 'C:\\Temp\\..\\Windows\\x'],
    ['"." segments', 'C:\\.\\Windows\\.\\x'],
    ['a trailing dot, which Windows strips', 'C:\\Windows.\\x'],
    ['a trailing space, which Windows strips', 'C:\\Windows \\x'],
    ['trailing dots on the file', 'C:\\Windows\\x...'],
    ['the \\\\?\\ prefix', '\\\\?\\C:\\Windows\\x'],
    ['the \\\\.\\ prefix', '\\\\.\\C:\\Windows\\x'],
    ['a UNC admin share of this host', '\\\\localhost\\C$\\Windows\\x'],
    ['a UNC admin share via 127.0.0.1', '\\\\127.0.0.1\\c$\\programdata\\x'],
    ['the \\\\?\\UNC\\ prefix to this host', '\\\\?\\UNC\\localhost\\C$\\Windows\\x'],
  ];
  for (const [how, p] of rejected) {
    it(`a Windows variant is rejected (${how}): ${p}`, () => {
      expect(win.refusing(p)).to.be.a('string');
    });
  }

  for (const p of [
    'C:\\Temp\\Windows\\x',
    'D:\\Windows\\x',
    'C:\\Windows2\\x',
    'C:\\ProgramDataX\\x',
    '\\\\server\\share\\Windows\\x',
    'C:\\Users\\me\\x',
  ]) {
    it(`a Windows path that only looks protected is allowed: ${p}`, () => {
      expect(win.refusing(p)).to.equal(undefined);
    });
  }

  it('the spec example: C:\\Windows\\*.exe rejects .exe files in C:\\Windows but not .txt or .md', () => {
    const p = new ProtectedPaths(['C:\\Windows\\*.exe'], 'windows');
    expect(p.refusing('C:\\Windows\\myfancy_program.exe')).to.equal('C:\\Windows\\*.exe');
    expect(p.refusing('C:\\Windows\\notepad.exe')).to.equal('C:\\Windows\\*.exe');
    expect(p.refusing('c:/windows/NOTEPAD.EXE')).to.equal('C:\\Windows\\*.exe');
    expect(p.refusing('C:\\Windows\\myfancy_program.txt')).to.equal(undefined);
    expect(p.refusing('C:\\Windows\\notepad.md')).to.equal(undefined);
  });

  it('a pattern written with forward slashes works on Windows', () => {
    expect(new ProtectedPaths(['C:/Secret'], 'windows').refusing('c:\\secret\\x')).to.equal('C:/Secret');
  });

  it('the spec example: /bin rejects /bin/yourfile.txt and /bin/somefile.csv but not /etc/bin/yourfile.txt', () => {
    const p = new ProtectedPaths(['/bin'], 'posix');
    expect(p.refusing('/bin/yourfile.txt')).to.equal('/bin');
    expect(p.refusing('/bin/somefile.csv')).to.equal('/bin');
    expect(p.refusing('/etc/bin/yourfile.txt')).to.equal(undefined);
  });
});

describe('destination validation', () => {
  const bad: [string, string | undefined, string][] = [
    ['a missing dest', undefined, 'required'],
    ['an empty dest', '', 'required'],
    ['a relative dest', 'etc/x.conf', 'not an absolute path'],
    ['a dest ending in /', '/etc/app/', 'ends with a path separator'],
    ['a Windows dest ending in \\', 'C:\\app\\', 'ends with a path separator'],
    ['a dest with NUL', '/etc/x\0.conf', 'NUL'],
    ['the root directory', '/.', 'root directory'],
    ['a Windows drive root', 'C:\\.', 'root directory'],
    ['a drive-relative Windows path', 'C:x.txt', 'not an absolute path'],
  ];
  for (const [title, dest, problem] of bad) {
    it(`${title} is rejected, and the message says why`, () => {
      const r = checkDestination(dest);
      expect(r.ok).to.equal(false);
      if (!r.ok) expect(r.problem).to.contain(problem);
    });
  }

  it('a POSIX dest is normalised: doubled slashes, "." and ".." removed', () => {
    expect(checkDestination('/srv//app/./x/../file.txt')).to.deep.equal({
      ok: true,
      normalized: '/srv/app/file.txt',
    });
  });

  it('".." never climbs above the root', () => {
    expect(normalizePosix('/../../etc/x')).to.equal('/etc/x');
  });

  it('a Windows dest is normalised to backslashes with an upper-case drive', () => {
    expect(checkDestination('c:/Users//me/./x.txt')).to.deep.equal({
      ok: true,
      normalized: 'C:\\Users\\me\\x.txt',
    });
  });

  it('a Windows UNC dest keeps its server and share', () => {
    expect(normalizeWindows('\\\\srv\\share\\a\\..\\b.txt')).to.equal('\\\\srv\\share\\b.txt');
    expect(normalizeWindows('\\\\?\\UNC\\srv\\share\\b.txt')).to.equal('\\\\srv\\share\\b.txt');
  });

  it('a Windows path that is neither drive nor UNC is not absolute', () => {
    expect(normalizeWindows('\\Windows\\x')).to.equal(undefined);
  });

  it('a Windows path given to a POSIX client is not absolute there', () => {
    expect(checkDestination('C:\\Windows\\x', 'posix').ok).to.equal(false);
  });

  it('the flavour of a path is told by its drive or UNC prefix', () => {
    expect(flavorOf('C:\\x')).to.equal('windows');
    expect(flavorOf('\\\\srv\\share\\x')).to.equal('windows');
    expect(flavorOf('/x')).to.equal('posix');
  });

  it('ancestors are listed deepest first, up to the root', () => {
    expect(selfAndAncestors('/a/b/c', 'posix')).to.deep.equal(['/a/b/c', '/a/b', '/a']);
    expect(selfAndAncestors('C:\\a\\b', 'windows')).to.deep.equal(['C:\\a\\b', 'C:\\a']);
    expect(selfAndAncestors('\\\\s\\sh\\a\\b', 'windows')).to.deep.equal(['\\\\s\\sh\\a\\b', '\\\\s\\sh\\a']);
  });
});

/** What the filesystem adapter finds on a merged-/usr host for the defaults. */
const MERGED_USR = [
  { pattern: '/bin', real: '/usr/bin' },
  { pattern: '/sbin', real: '/usr/sbin' },
  { pattern: '/lib*', real: '/usr/lib' },
  { pattern: '/lib*', real: '/usr/lib64' },
];

describe('protected paths, real roots found on the host', () => {
  const rule = ProtectedPaths.defaults('posix').withRealRoots(MERGED_USR);

  for (const p of [
    '/usr/lib',
    '/usr/lib/x',
    '/usr/lib/x86_64-linux-gnu/libz.so.1',
    '/usr/lib64/x',
    '/usr//lib/./x',
  ]) {
    it(`a path at or under a real root is held by it: ${p}`, () => {
      expect(rule.realRootOf(p)?.pattern).to.equal('/lib*');
    });
  }

  for (const p of [
    '/usr/libexec/x',
    '/usr/lib64x',
    '/usr/local/lib/x',
    '/USR/LIB/x',
    '/usr/binx',
    '/srv/usr/lib',
  ]) {
    it(`roots are compared path component by path component, case-sensitively: ${p} is held by none`, () => {
      expect(rule.realRootOf(p)).to.equal(undefined);
    });
  }

  it('an invalid path is held by no root', () => {
    expect(rule.realRootOf('usr/lib/x')).to.equal(undefined);
  });

  it('withRealRoots keeps the patterns and replaces the roots', () => {
    const again = rule.withRealRoots([{ pattern: '/bin', real: '/opt/bin' }]);
    expect(again.patterns).to.deep.equal(DEFAULT_PROTECTED_POSIX);
    expect(again.refusing('/bin/x')).to.equal('/bin');
    expect(again.realRootOf('/usr/lib/x')).to.equal(undefined);
    expect(again.realRootOf('/opt/bin/x')?.pattern).to.equal('/bin');
    expect(ProtectedPaths.defaults('posix').realRootOf('/usr/lib/x')).to.equal(undefined);
  });

  it('a root may end in the rest of its pattern: it holds only what the pattern would', () => {
    const etc = new ProtectedPaths(['/etc/*.conf'], 'posix', [
      { pattern: '/etc/*.conf', real: '/private/etc/*.conf' },
    ]);
    expect(etc.realRootOf('/private/etc/a.conf')?.real).to.equal('/private/etc/*.conf');
    expect(etc.realRootOf('/private/etc/app/x')).to.equal(undefined);
  });

  it('Windows roots ignore case and separator style', () => {
    const win = ProtectedPaths.defaults('windows').withRealRoots([
      { pattern: 'C:\\Windows\\', real: 'D:\\Win' },
    ]);
    expect(win.realRootOf('d:/win/system32/x.dll')?.pattern).to.equal('C:\\Windows\\');
    expect(win.realRootOf('D:\\Win2\\x')).to.equal(undefined);
  });

  it('the refusal names the destination, the pattern and the real path, and says whether a link led there', () => {
    expect(protectedRefusal(rule, '/usr/lib/x', '/usr/lib/x')).to.equal(
      '/usr/lib/x is a protected path (within /usr/lib, the real path on this host of "/lib*" in [file-reception] protected)',
    );
    expect(protectedRefusal(rule, '/srv/evil/x', '/usr/lib64/x')).to.equal(
      '/srv/evil/x leads through a symlink to /usr/lib64/x, a protected path (within /usr/lib64, the real path on this host of "/lib*" in [file-reception] protected)',
    );
    expect(linkRefusal(rule, '/srv/ok/x', '/srv/ok/x')).to.equal(undefined);
  });

  it('a pattern that matches as written refuses first, with the message of today', () => {
    expect(protectedRefusal(rule, '/lib/x', '/usr/lib/x')).to.equal(
      '/lib/x is a protected path (matches "/lib*" in [file-reception] protected)',
    );
  });
});

describe('ReceiveFile with the real roots of a merged-/usr host (memory fakes)', () => {
  const settings = { protectedPaths: ProtectedPaths.defaults('posix').withRealRoots(MERGED_USR) };

  it('a push to /usr/lib/x86_64-linux-gnu/<name> is refused and nothing lands', async () => {
    const a = makeAgent({ uid: 0, gid: 0, settings });
    const dest = '/usr/lib/x86_64-linux-gnu/libevil.so';
    const v = await a.push('x', { destination: dest });
    expect(v.status).to.equal('error');
    expect(v.message).to.contain(dest).and.contain('"/lib*"').and.contain('/usr/lib,');
    expect(a.files.lstat(dest)).to.equal(undefined);
  });

  it('a push through a folder linked to /usr/lib64 is refused', async () => {
    const a = makeAgent({ uid: 0, gid: 0, settings });
    a.files.mkdirp('/usr/lib64', { mode: 0o755, uid: 0, gid: 0 });
    a.files.symlink('/srv/app/libs', '/usr/lib64');
    const v = await a.push('x', { destination: '/srv/app/libs/evil.so' });
    expect(v.status).to.equal('error');
    expect(v.message).to.contain('symlink').and.contain('/usr/lib64/evil.so').and.contain('"/lib*"');
    expect(a.files.lstat('/usr/lib64/evil.so')).to.equal(undefined);
  });

  it('a parent swapped during the fetch for a link to /usr/lib: refused before the move', async () => {
    const a = makeAgent({ uid: 0, gid: 0, settings });
    a.files.mkdirp('/usr/lib', { mode: 0o755, uid: 0, gid: 0 });
    const stop = a.files.onChange((op) => {
      if (op !== 'writeTemp') return;
      stop();
      a.files.symlink('/srv/app/tools', '/usr/lib');
    });
    const v = await a.push('x', { destination: '/srv/app/tools/evil.so' });
    expect(v.status).to.equal('error');
    expect(v.message).to.contain('/usr/lib/evil.so').and.contain('"/lib*"');
    expect(a.files.lstat('/usr/lib/evil.so')).to.equal(undefined);
    expect(a.files.tempFiles()).to.deep.equal([]);
  });

  for (const dest of ['/usr/binx', '/BIN/x', '/usr/local/bin/x']) {
    it(`a look-alike stays allowed: ${dest}`, async () => {
      const a = makeAgent({ uid: 0, gid: 0, settings });
      expect((await a.push('x', { destination: dest })).status).to.equal('success');
    });
  }
});
