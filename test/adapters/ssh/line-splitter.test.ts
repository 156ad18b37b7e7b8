import { expect } from 'chai';
import { LineSplitter, MAX_LINE } from '../../../src/adapters/ssh/protocol.ts';

function split(chunks: (Buffer | string)[]): { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  const s = new LineSplitter(
    (l) => lines.push(l),
    (e) => errors.push(e),
  );
  for (const c of chunks) s.push(c);
  return { lines, errors };
}

describe('LineSplitter: the control line limit holds per line', () => {
  it('a line of exactly MAX_LINE bytes passes, one byte more is refused, in one chunk with its newline', () => {
    expect(split(['a'.repeat(MAX_LINE) + '\nb\n'])).to.deep.equal({
      lines: ['a'.repeat(MAX_LINE), 'b'],
      errors: [],
    });
    const over = split(['x\n' + 'a'.repeat(MAX_LINE + 1) + '\nnever\n']);
    expect(over.lines).to.deep.equal(['x']);
    expect(over.errors).to.have.length(1);
  });

  it('a long line ending in the chunk that completes it is refused, however it was cut', () => {
    const line = 'a'.repeat(70 * 1024) + '\n';
    for (const size of [1000, 32 * 1024, 60 * 1024]) {
      const chunks: string[] = [];
      for (let at = 0; at < line.length; at += size) chunks.push(line.slice(at, at + size));
      expect(split(chunks).errors, `chunks of ${size}`).to.have.length(1);
    }
  });

  it('counts bytes, not characters, and keeps a character cut between chunks whole', () => {
    const euro = Buffer.from('€'); // three bytes
    expect(
      split([euro.subarray(0, 1), Buffer.concat([euro.subarray(1), Buffer.from('\n')])]).lines,
    ).to.deep.equal(['€']);
    const wide = '€'.repeat(Math.floor(MAX_LINE / 3) + 1) + '\n';
    expect(split([Buffer.from(wide)]).errors).to.have.length(1);
  });
});
