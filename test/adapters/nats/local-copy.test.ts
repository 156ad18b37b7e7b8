import { expect } from 'chai';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeLocalCopy } from '../../../src/adapters/nats/local-copy.ts';

async function* parts(list: string[], failAt?: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < list.length; i++) {
    if (i === failAt) throw new Error('fetch cut off');
    yield Buffer.from(list[i]);
  }
}

const expected = (s: string) => ({ size: s.length, sha256: createHash('sha256').update(s).digest('hex') });

describe('writeLocalCopy (real filesystem)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rportd-copy-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('places the complete bytes under the staged name, and nothing else', async () => {
    const uuid = randomUUID();
    await writeLocalCopy(dir, uuid, parts(['ab', 'cd']), expected('abcd'));
    expect(await readdir(dir)).to.deep.equal([`${uuid}_rport_filepush`]);
    expect(await readFile(join(dir, `${uuid}_rport_filepush`), 'utf8')).to.equal('abcd');
  });

  it('a fetch cut off leaves no file, temp or final', async () => {
    const e = await writeLocalCopy(dir, randomUUID(), parts(['ab', 'cd', 'ef'], 2), expected('abcdef')).catch(
      (x: Error) => x,
    );
    expect((e as Error).message).to.equal('fetch cut off');
    expect(await readdir(dir)).to.deep.equal([]);
  });

  it('bytes that do not match the object are refused, naming both digests, and removed', async () => {
    const e = await writeLocalCopy(dir, randomUUID(), parts(['abcX']), expected('abcd')).catch(
      (x: Error) => x,
    );
    expect((e as Error).message)
      .to.include(expected('abcd').sha256)
      .and.include(expected('abcX').sha256);
    expect(await readdir(dir)).to.deep.equal([]);
  });

  it('an older copy under the staged name is replaced whole', async () => {
    const uuid = randomUUID();
    await writeFile(join(dir, `${uuid}_rport_filepush`), 'ab');
    await writeLocalCopy(dir, uuid, parts(['abcd']), expected('abcd'));
    expect(await readFile(join(dir, `${uuid}_rport_filepush`), 'utf8')).to.equal('abcd');
  });
});
