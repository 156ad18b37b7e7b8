import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { lstat, mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expandProtectedRoots } from '../../../src/adapters/fs/protected-roots.ts';
import { buildReception } from '../../../src/composition/rport/container.ts';
import { linkRefusal } from '../../../src/domain/destination-refusal.ts';
import { DEFAULT_PROTECTED_POSIX, ProtectedPaths } from '../../../src/domain/protected-paths.ts';
import { stagedName } from '../../../src/domain/push-request.ts';

/** The default patterns whose literal path is a symlink on this host (on a merged-/usr host: /bin, /sbin, /lib, /lib64). */
async function linkedDefaults(): Promise<{ pattern: string; path: string; real: string }[]> {
  const out: { pattern: string; path: string; real: string }[] = [];
  for (const pattern of DEFAULT_PROTECTED_POSIX) {
    // /lib* names /lib, /lib64, /libx32... : each that exists here is checked.
    const paths = pattern === '/lib*' ? ['/lib', '/lib32', '/lib64', '/libx32'] : [pattern];
    for (const path of paths) {
      const s = await lstat(path).catch(() => undefined);
      if (s?.isSymbolicLink()) {
        const real = await realpath(path).catch(() => undefined);
        if (real) out.push({ pattern, path, real });
      }
    }
  }
  return out;
}

describe("protected roots: the default patterns on this host's own layout", function () {
  if (process.platform === 'win32') return;

  it('every default pattern whose literal path is a symlink here has its real path among the roots, and a destination there is refused', async function () {
    const linked = await linkedDefaults();
    if (linked.length === 0) this.skip(); // not a merged-/usr host: nothing to resolve
    const { roots, warnings } = await expandProtectedRoots(DEFAULT_PROTECTED_POSIX);
    expect(warnings).to.deep.equal([]);
    const rule = ProtectedPaths.defaults('posix').withRealRoots(roots);
    for (const { pattern, path, real } of linked) {
      expect(
        roots.some((r) => r.real === real),
        `${path} -> ${real} is among the roots`,
      ).to.equal(true);
      const dest = join(real, 'rport-test-never', 'x');
      // The destination as given and as it really leads (no links below the real path).
      // (/usr/bin is also a pattern of its own, which then refuses first: the root is checked alone too.)
      expect(rule.realRootOf(dest), `${dest} is within a root`).to.deep.equal({ pattern, real });
      expect(linkRefusal(rule, dest, dest), `${dest} refused`).to.contain('protected path');
    }
    for (const allowed of ['/usr/binx/x', '/BIN/x', '/usr/local/bin/x'])
      expect(linkRefusal(rule, allowed, allowed), allowed).to.equal(undefined);
  });

  it("the agent's wiring expands them at start: a push below the real path of a linked default is refused", async function () {
    const linked = await linkedDefaults();
    if (linked.length === 0) this.skip();
    const root = await mkdtemp(join(tmpdir(), 'rport-host-roots-'));
    try {
      const receive = await buildReception(
        {
          servers: ['127.0.0.1:1'],
          fingerprint: 'unused',
          credentialId: 'unused',
          password: 'unused',
          id: 'a1',
          name: 'a1',
          tags: [],
          dataDir: join(root, 'data'),
          hashThread: false,
          fileReception: {
            enabled: true,
            protected: DEFAULT_PROTECTED_POSIX,
            backup: false,
            allowSpecialBits: false,
          },
        },
        {
          open: async function* () {
            yield Buffer.from('the bytes');
          },
        },
      );
      for (const { pattern, real } of linked) {
        const destination = join(real, 'rport-test-never');
        const v = await receive.execute({
          uuid: 'u1',
          sourceName: stagedName('u1'),
          destination,
          size: 9,
          md5: createHash('md5').update('the bytes').digest('hex'),
          force: true,
          sync: false,
          ownership: {},
        });
        expect(v.status, v.message).to.equal('error');
        expect(v.message).to.contain('protected path');
        // Where no pattern names the real path itself (/usr/lib), only the expansion can have refused it.
        if (ProtectedPaths.defaults('posix').refusing(destination) === undefined)
          expect(v.message).to.contain(`"${pattern}"`).and.contain(real);
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
