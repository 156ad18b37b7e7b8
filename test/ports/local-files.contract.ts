import { expect } from 'chai';
import { createHash } from 'node:crypto';
import type { LocalFiles } from '../../src/ports/local-files.ts';

export interface LocalFilesFixture {
  files: LocalFiles;
  /** An existing, empty directory the agent's user may write in. */
  root: string;
  cleanup(): Promise<void>;
}

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

async function* bytes(...parts: string[]): AsyncIterable<Uint8Array> {
  for (const p of parts) yield new TextEncoder().encode(p);
}

async function rejection(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected the call to fail');
}

/** The LocalFiles port's behaviour, which the real adapter and the in-memory fake must share. */
export function localFilesContract(name: string, factory: () => Promise<LocalFilesFixture>): void {
  describe(`LocalFiles contract: ${name}`, () => {
    let fx: LocalFilesFixture;
    let files: LocalFiles;
    let root: string;
    beforeEach(async () => {
      fx = await factory();
      ({ files, root } = fx);
    });
    afterEach(() => fx.cleanup());

    /** A file at path with content, made through the port itself. */
    async function put(path: string, content: string, id = 'seed'): Promise<void> {
      const t = await files.writeTemp(`${id}_rport_filepush`, bytes(content));
      await files.place(t.path, path, 0o755);
    }

    it('writeTemp streams the bytes into a new 0600 temp file and reports size and md5', async () => {
      const t = await files.writeTemp('c1_rport_filepush', bytes('hello ', 'world'));
      expect(t.size).to.equal(11);
      expect(t.md5).to.equal(md5('hello world'));
      expect(t.path.endsWith('/filepush/c1_rport_filepush')).to.equal(true);
      expect(await files.status(t.path)).to.include({ type: 'file', size: 11, mode: 0o600 });
      expect(await files.md5(t.path)).to.equal(md5('hello world'));
    });

    it('writeTemp with compareWith tells a file of the same bytes from one differing in a byte or in size', async () => {
      await put(`${root}/a`, 'same bytes', 'a');
      await put(`${root}/c`, 'same byteZ', 'c');
      await put(`${root}/d`, 'same bytes!', 'd');
      const against = async (id: string, path: string): Promise<boolean | undefined> =>
        (await files.writeTemp(`${id}_rport_filepush`, bytes('same ', 'bytes'), path)).sameAs;
      expect(await against('k1', `${root}/a`)).to.equal(true);
      expect(await against('k2', `${root}/c`)).to.equal(false);
      expect(await against('k3', `${root}/d`)).to.equal(false);
      expect(await against('k4', `${root}/missing`)).to.equal(false);
      expect(await against('k5', root)).to.equal(false);
      const plain = await files.writeTemp('k6_rport_filepush', bytes('same bytes'));
      expect(plain).to.not.have.property('sameAs');
      expect(await files.md5(plain.path)).to.equal(md5('same bytes'));
    });

    it('writeTemp is exclusive: a second temp file of the same name fails and the first keeps its bytes', async () => {
      const t = await files.writeTemp('c2_rport_filepush', bytes('first'));
      await rejection(files.writeTemp('c2_rport_filepush', bytes('second')));
      expect(await files.md5(t.path)).to.equal(md5('first'));
    });

    it('writeTemp removes the temp file when the content fails', async () => {
      async function* broken(): AsyncIterable<Uint8Array> {
        yield new TextEncoder().encode('part');
        throw new Error('transfer broke');
      }
      const e = await rejection(files.writeTemp('c3_rport_filepush', broken()));
      expect(e.message).to.contain('transfer broke');
      const t = await files.writeTemp('c4_rport_filepush', bytes(''));
      expect(await files.status(t.path.replace('c4_', 'c3_'))).to.equal(undefined);
    });

    it('place moves the temp file onto the destination, creating missing parents with dirMode', async () => {
      const t = await files.writeTemp('c5_rport_filepush', bytes('placed'));
      const dest = `${root}/a/b/file.txt`;
      await files.place(t.path, dest, 0o750);
      expect(await files.status(t.path)).to.equal(undefined);
      expect(await files.md5(dest)).to.equal(md5('placed'));
      expect(await files.status(`${root}/a`)).to.include({ type: 'directory', mode: 0o750 });
      expect(await files.status(`${root}/a/b`)).to.include({ type: 'directory', mode: 0o750 });
    });

    it('place replaces an existing file with the new bytes', async () => {
      const dest = `${root}/f.txt`;
      await put(dest, 'old');
      const t = await files.writeTemp('c6_rport_filepush', bytes('new'));
      await files.place(t.path, dest, 0o755);
      expect(await files.md5(dest)).to.equal(md5('new'));
    });

    it('chmod sets the permission bits, special bits included', async () => {
      const t = await files.writeTemp('c7_rport_filepush', bytes('x'));
      await files.chmod(t.path, 0o2750);
      expect((await files.status(t.path))?.mode).to.equal(0o2750);
    });

    it('changeInPlace sets the mode of an existing file; a missing file fails with ENOENT naming it', async () => {
      const dest = `${root}/in-place`;
      await put(dest, 'x');
      await files.changeInPlace(dest, { mode: 0o640 });
      expect(await files.status(dest)).to.include({ type: 'file', mode: 0o640 });
      const e = await rejection(files.changeInPlace(`${root}/missing`, { mode: 0o600 }));
      expect(e.code).to.equal('ENOENT');
      expect(e.message).to.contain(`${root}/missing`);
    });

    it('status: undefined for a missing path, directory for a directory', async () => {
      expect(await files.status(`${root}/missing`)).to.equal(undefined);
      expect(await files.status(root)).to.include({ type: 'directory' });
    });

    it('md5 of a missing file fails with ENOENT and names the path', async () => {
      const e = await rejection(files.md5(`${root}/missing`));
      expect(e.code).to.equal('ENOENT');
      expect(e.message).to.contain(`${root}/missing`);
    });

    it('resolveParents keeps a path without links as it is, missing parents included', async () => {
      expect(await files.resolveParents(`${root}/not/yet/there.txt`)).to.equal(`${root}/not/yet/there.txt`);
    });

    it('backup keeps the existing bytes as <dest>.<stamp>.bak and returns that path', async () => {
      const dest = `${root}/conf`;
      await put(dest, 'v1');
      const saved = await files.backup(dest, '2024-01-02T03-04-05-000Z');
      expect(saved).to.equal(`${dest}.2024-01-02T03-04-05-000Z.bak`);
      expect(await files.md5(saved)).to.equal(md5('v1'));
      expect(await files.md5(dest)).to.equal(md5('v1'));
    });

    it('readUpTo gives the bytes up to maxBytes, undefined beyond; a missing file fails naming it', async () => {
      const dest = `${root}/diffed.txt`;
      await put(dest, 'twelve bytes');
      expect(new TextDecoder().decode(await files.readUpTo(dest, 12))).to.equal('twelve bytes');
      expect(await files.readUpTo(dest, 11)).to.equal(undefined);
      const e = await rejection(files.readUpTo(`${root}/none.txt`, 10));
      expect(e.code).to.equal('ENOENT');
      expect(e.message).to.contain(`${root}/none.txt`);
    });

    it('remove deletes a file, and a missing file is no error', async () => {
      const dest = `${root}/gone`;
      await put(dest, 'x');
      await files.remove(dest);
      expect(await files.status(dest)).to.equal(undefined);
      await files.remove(dest);
    });

    it('lookup gives root 0:0; a numeric name is the id; an unknown name fails naming it', async () => {
      expect(await files.lookup({ user: 'root', group: 'root' })).to.deep.equal({ uid: 0, gid: 0 });
      expect(await files.lookup({ user: '4321' })).to.deep.equal({ uid: 4321 });
      const e = await rejection(files.lookup({ user: 'no-such-user-xyz' }));
      expect(e.message).to.contain('no-such-user-xyz');
    });
  });
}
