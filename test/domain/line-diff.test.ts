import { expect } from 'chai';
import { unifiedDiff } from '../../src/domain/line-diff.ts';

/** Applies a unified diff to old text, as `patch` would; throws when a context or removed line does not match. */
function applyDiff(old: string, diff: string): string {
  if (diff === '') return old;
  const oldLines = old.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  const rows = diff.split(/(?<=\n)/).slice(2);
  const out: string[] = [];
  let at = 0;
  for (let i = 0; i < rows.length;) {
    const h = /^@@ -(\d+),(\d+) \+(\d+),(\d+) @@\n$/.exec(rows[i++]);
    if (!h) throw new Error(`not a hunk header: ${rows[i - 1]}`);
    const start = Number(h[2]) === 0 ? Number(h[1]) : Number(h[1]) - 1;
    while (at < start) out.push(oldLines[at++]);
    while (i < rows.length && !rows[i].startsWith('@@')) {
      let row = rows[i++];
      if (rows[i] === '\\ No newline at end of file\n') {
        row = row.slice(0, -1);
        i++;
      }
      const [op, line] = [row[0], row.slice(1)];
      if (op === '+') out.push(line);
      else {
        if (oldLines[at] !== line) throw new Error(`line ${at + 1}: expected ${JSON.stringify(line)}`);
        if (op === ' ') out.push(line);
        at++;
      }
    }
  }
  while (at < oldLines.length) out.push(oldLines[at++]);
  return out.join('');
}

/** A deterministic pseudo-random sequence (the tests must not depend on luck). */
function prng(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
}

describe('unifiedDiff: a line diff in diff -u format', () => {
  it('one changed line, with three lines of context and the file names', () => {
    const d = unifiedDiff('a\nb\nc\nd\ne\n', 'a\nb\nC\nd\ne\n', '/etc/x', '/etc/x (pushed)');
    expect(d).to.equal('--- /etc/x\n+++ /etc/x (pushed)\n@@ -1,5 +1,5 @@\n a\n b\n-c\n+C\n d\n e\n');
  });

  it('the same text gives an empty diff', () => {
    expect(unifiedDiff('a\nb\n', 'a\nb\n', 'x', 'y')).to.equal('');
  });

  it('far-apart changes get a hunk each; an empty old file counts from line 0', () => {
    const lines = Array.from({ length: 20 }, (_, i) => `line ${i}\n`);
    const changed = [...lines];
    changed[1] = 'one\n';
    changed[18] = 'eighteen\n';
    const d = unifiedDiff(lines.join(''), changed.join(''), 'a', 'b');
    expect(d.match(/^@@/gm)).to.have.length(2);
    expect(d).to.contain('@@ -1,5 +1,5 @@').and.contain('@@ -16,5 +16,5 @@');
    expect(unifiedDiff('', 'x\n', 'a', 'b')).to.contain('@@ -0,0 +1,1 @@\n+x\n');
  });

  it('a missing final newline is a change of its own, marked as diff -u marks it', () => {
    const d = unifiedDiff('a\nb\n', 'a\nb', 'x', 'y');
    expect(d).to.contain('-b\n+b\n\\ No newline at end of file\n');
    expect(applyDiff('a\nb\n', d)).to.equal('a\nb');
  });

  it('applied to the old text, every diff gives the new text (500 random pairs)', () => {
    const rnd = prng(7);
    const words = ['a\n', 'b\n', 'c\n', 'd\n', '\n', 'e'];
    const text = (): string =>
      Array.from({ length: Math.floor(rnd() * 30) }, () => words[Math.floor(rnd() * words.length)])
        .join('')
        .replace(/e(?=.)/gs, 'e\n');
    for (let i = 0; i < 500; i++) {
      const [a, b] = [text(), text()];
      const d = unifiedDiff(a, b, 'a', 'b');
      expect(applyDiff(a, d), `pair ${i}: ${JSON.stringify([a, b])}`).to.equal(b);
    }
  });

  it('past the edit bound it still gives a correct diff (the whole middle replaced)', () => {
    const a = Array.from({ length: 3000 }, (_, i) => `old ${i}\n`).join('');
    const b = Array.from({ length: 3000 }, (_, i) => `new ${i}\n`).join('');
    const d = unifiedDiff(`head\n${a}tail\n`, `head\n${b}tail\n`, 'a', 'b');
    expect(applyDiff(`head\n${a}tail\n`, d)).to.equal(`head\n${b}tail\n`);
    expect(d).to.contain('@@ -1,3002 +1,3002 @@');
  });
});
