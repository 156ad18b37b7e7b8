import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, realpath, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsLocalFiles } from '../../../src/adapters/fs/fs-local-files.ts';
import { escapeGlob, expandProtectedRoots, toFastGlob } from '../../../src/adapters/fs/protected-roots.ts';
import { ApplyOwnership } from '../../../src/domain/apply-ownership.ts';
import { ProtectedPaths } from '../../../src/domain/protected-paths.ts';
import { stagedName } from '../../../src/domain/push-request.ts';
import { ReceiveFile, SUCCESS_MESSAGE } from '../../../src/domain/receive-file.ts';
import { BufferSource, fixedClock, md5, NoPrivileges } from './agent-fixture.ts';

/**
 * A fake merged-/usr root: `lib -> usr/lib`, `lib64 -> usr/lib64`, `bin -> usr/bin`, and folders
 * in /srv linked to each. The patterns are rooted there, so `/usr/lib/x` of the fake root is
 * `${root}/usr/lib/x`; the patterns as strings never match such a path, so whatever is refused
 * below is refused through the real roots alone.
 */
const PATTERNS = ['/bin', '/usr/bin', '/lib*'];

describe('protected roots: patterns expanded against a fake merged-/usr root', () => {
  let root: string;
  beforeEach(async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), 'rport-roots-')));
    for (const d of ['usr/lib', 'usr/lib64', 'usr/bin', 'usr/binx', 'usr/libexec', 'usr/local/bin', 'srv'])
      await mkdir(join(root, d), { recursive: true });
    await symlink('usr/lib', join(root, 'lib'));
    await symlink('usr/lib64', join(root, 'lib64'));
    await symlink('usr/bin', join(root, 'bin'));
    await symlink(join(root, 'usr/lib'), join(root, 'srv/evil'));
    await symlink('../usr/lib64', join(root, 'srv/evil64'));
    await symlink(join(root, 'bin'), join(root, 'srv/tools'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('each match and each literal part is resolved to its real path: /lib* gives usr/lib and usr/lib64, /bin gives usr/bin', async () => {
    const { roots, warnings } = await expandProtectedRoots(PATTERNS, { root });
    expect(warnings).to.deep.equal([]);
    expect(roots).to.deep.include({ pattern: '/bin', real: join(root, 'usr/bin') });
    expect(roots).to.deep.include({ pattern: '/lib*', real: join(root, 'usr/lib') });
    expect(roots).to.deep.include({ pattern: '/lib*', real: join(root, 'usr/lib64') });
    // The literal directory of /lib* is the root itself: the pattern is kept after its real path.
    expect(roots).to.deep.include({ pattern: '/lib*', real: `${root}/lib*` });
    expect(
      roots.filter((r) => r.real === join(root, 'usr/bin')),
      'no repeats',
    ).to.have.length(1);
    expect(roots.map((r) => r.real)).to.not.include(join(root, 'usr/binx'));
  });

  it('a pattern naming nothing that exists adds nothing', async () => {
    const { roots, warnings } = await expandProtectedRoots(['/nowhere/bin', '/missing/dir/*.so'], { root });
    expect(roots).to.deep.equal([]);
    expect(warnings).to.deep.equal([]);
  });

  it('a linked literal directory keeps the rest of the pattern, so it protects no more than the pattern does', async () => {
    await mkdir(join(root, 'private/etc/app'), { recursive: true });
    await symlink('private/etc', join(root, 'etc'));
    const rule = await ruleFor(['/etc/*.conf'], root);
    expect(rule.realRoots).to.deep.include({
      pattern: '/etc/*.conf',
      real: join(root, 'private/etc/*.conf'),
    });
    expect(rule.realRootOf(join(root, 'private/etc/new.conf'))?.pattern).to.equal('/etc/*.conf');
    expect(rule.realRootOf(join(root, 'private/etc/app/x'))).to.equal(undefined);
  });

  it('glob characters in a real path match only themselves', async () => {
    await mkdir(join(root, 'we*ird'));
    await symlink('we*ird', join(root, 'odd'));
    const rule = await ruleFor(['/odd'], root);
    expect(rule.realRoots).to.deep.equal([{ pattern: '/odd', real: join(root, 'we[*]ird') }]);
    expect(rule.realRootOf(join(root, 'we*ird/x'))?.pattern).to.equal('/odd');
    expect(rule.realRootOf(join(root, 'weXYZird/x'))).to.equal(undefined);
    expect(escapeGlob('/a?b[c]*')).to.equal('/a[?]b[[]c][*]');
  });

  it("braces, parentheses and ! are literal, as in the domain's matcher, not fast-glob syntax", async () => {
    await mkdir(join(root, 'a'));
    const { roots } = await expandProtectedRoots(['/{a,b}', '/!(x)', '/@(a)'], { root });
    expect(roots.map((r) => r.real)).to.not.include(join(root, 'a'));
    expect(toFastGlob('/x/{a,b}/[!c]*')).to.equal('/x/\\{a,b\\}/[!c]*');
  });

  it('a pattern matching more than maxMatches paths is cut there, with a warning naming it', async () => {
    for (const n of ['d1', 'd2', 'd3']) await mkdir(join(root, 'srv', n));
    const { roots, warnings } = await expandProtectedRoots(['/srv/d*'], { root, maxMatches: 2 });
    expect(roots.filter((r) => /\/d\d$/.test(r.real))).to.have.length(2);
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.contain('"/srv/d*"').and.contain('more than 2');
  });

  describe('ReceiveFile over FsLocalFiles with the roots of the fake root', () => {
    let dataDir: string;
    let receive: ReceiveFile;
    let source: BufferSource;
    beforeEach(async () => {
      dataDir = join(root, 'data');
      const files = new FsLocalFiles({ dataDir });
      const privileged = new NoPrivileges();
      source = new BufferSource();
      const settings = {
        enabled: true,
        protectedPaths: await ruleFor(PATTERNS, root),
        flavor: 'posix' as const,
        backup: false,
        allowSpecialBits: false,
      };
      receive = new ReceiveFile(
        files,
        source,
        privileged,
        new ApplyOwnership(files, privileged),
        settings,
        fixedClock,
      );
    });
    const push = (dest: string) => {
      const uuid = randomUUID();
      source.bodies.set(stagedName(uuid), Buffer.from('payload'));
      return receive.execute({
        uuid,
        sourceName: stagedName(uuid),
        destination: dest,
        size: 7,
        md5: md5('payload'),
        force: false,
        sync: false,
        ownership: {},
      });
    };

    // named: the real root the message gives; /lib/x is held by the literal part of /lib* itself.
    for (const [where, rel, pattern, real, named = real] of [
      ['under /usr/lib', 'usr/lib/x86_64-linux-gnu/libevil.so', '/lib*', 'usr/lib'],
      ['under /usr/lib64', 'usr/lib64/x', '/lib*', 'usr/lib64'],
      ['under /usr/bin', 'usr/bin/x', '/bin', 'usr/bin'],
      ['through /lib itself', 'lib/x', '/lib*', 'usr/lib', 'lib*'],
      ['through a folder linked to /usr/lib', 'srv/evil/x', '/lib*', 'usr/lib'],
      ['through a folder linked to /usr/lib64', 'srv/evil64/deep/x', '/lib*', 'usr/lib64'],
      ['through a folder linked to /bin', 'srv/tools/x', '/bin', 'usr/bin'],
    ]) {
      it(`a destination ${where} is refused, naming the pattern and the real path, and nothing lands`, async () => {
        const dest = join(root, rel);
        const v = await push(dest);
        expect(v.status, v.message).to.equal('error');
        expect(v.message).to.contain(dest).and.contain(`"${pattern}"`).and.contain(`${root}/${named}`);
        expect(await readdir(join(root, real)), 'nothing created there').to.deep.equal([]);
        expect(await readdir(join(dataDir, 'filepush')).catch(() => [])).to.deep.equal([]);
      });
    }

    for (const rel of ['usr/binx/x', 'BIN/x', 'usr/local/bin/x', 'usr/libexec/x']) {
      it(`a look-alike stays allowed: ${rel}`, async () => {
        const v = await push(join(root, rel));
        expect(v).to.deep.equal({ status: 'success', message: SUCCESS_MESSAGE, changed: true });
      });
    }
  });
});

async function ruleFor(patterns: string[], root: string): Promise<ProtectedPaths> {
  const { roots } = await expandProtectedRoots(patterns, { root });
  return new ProtectedPaths(patterns, 'posix').withRealRoots(roots);
}
