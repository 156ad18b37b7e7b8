import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import {
  effectOf,
  exitCodeOf,
  ResultsTable,
  summary,
  type TargetRow,
} from '../../../src/composition/rportcli/results-table.ts';

const row = (client_id: string, status: TargetRow['status'], changed?: boolean): TargetRow => ({
  client_id,
  status,
  message: `${status} message`,
  filepath: '',
  size: 0,
  ...(changed === undefined ? {} : { changed }),
});

describe('rportcli results: changed, unchanged, skipped', () => {
  it('each status and changed maps to one effect; ignored is unchanged under sync and skipped without it', () => {
    expect(effectOf(row('a', 'success', true), false)).to.equal('changed');
    expect(effectOf(row('a', 'success', false), false)).to.equal('unchanged');
    expect(effectOf(row('a', 'success'), false), 'a server without changed').to.equal('changed');
    expect(effectOf(row('a', 'ignored', false), false)).to.equal('skipped');
    expect(effectOf(row('a', 'ignored', false), true)).to.equal('unchanged');
    expect(effectOf(row('a', 'error', false), false)).to.equal('failed');
    expect(effectOf(row('a', 'timeout'), false)).to.equal('failed');
    expect(effectOf(row('a', 'pending'), false)).to.equal('pending');
  });

  it('the summary counts statuses and effects', () => {
    const rows = [row('a', 'success', true), row('b', 'success', false), row('c', 'ignored', false)];
    expect(summary(rows)).to.equal(
      '3 targets: 2 success, 1 ignored; 1 changed, 1 unchanged, 1 skipped, 0 failed',
    );
    expect(summary([...rows, row('d', 'pending')], true)).to.equal(
      '4 targets: 2 success, 1 ignored; 1 changed, 2 unchanged, 0 skipped, 0 failed, 1 pending',
    );
  });

  it('--fail-on-ignored fails on a skipped target, not on one a sync found already in sync', () => {
    const ignoredRow = [row('a', 'success', true), row('b', 'ignored', false)];
    expect(exitCodeOf(ignoredRow, true, false)).to.equal(1);
    expect(exitCodeOf(ignoredRow, true, true)).to.equal(0);
    expect(exitCodeOf(ignoredRow, false, false)).to.equal(0);
    expect(exitCodeOf([row('a', 'success', false)], true, false), 'unchanged is no failure').to.equal(0);
  });

  it('one line per final outcome on a pipe: client, status, effect, message', () => {
    const stdout = new PassThrough();
    let text = '';
    stdout.on('data', (c: Buffer) => (text += c.toString()));
    const io = { stdout, stderr: new PassThrough(), stdin: new PassThrough(), env: {} };
    const table = ResultsTable.for(io, false, false);
    table.expect(['a', 'b']);
    table.update(row('a', 'success', false));
    table.update(row('b', 'ignored', false));
    expect(text).to.equal('a  success  unchanged  success message\nb  ignored  skipped  ignored message\n');
  });
});

describe('rportcli results: diffs under each target row', () => {
  const capture = (isTTY: boolean) => {
    const stdout = Object.assign(new PassThrough(), { isTTY, columns: 60 });
    const out = { text: '' };
    stdout.on('data', (c: Buffer) => (out.text += c.toString()));
    const io = { stdout, stderr: new PassThrough(), stdin: new PassThrough(), env: {} };
    return { io, out };
  };
  const DIFF = '--- /etc/a\n+++ /etc/a (pushed)\n@@ -1,1 +1,1 @@\n-old\n+new\n';

  it('on a pipe: the diff follows its row, indented, line by line', () => {
    const { io, out } = capture(false);
    const table = ResultsTable.for(io, false, false);
    table.expect(['a', 'b']);
    table.update({ ...row('a', 'success', true), diff: DIFF });
    table.update({ ...row('b', 'success', false), diff: 'no diff: the content is the same' });
    expect(out.text).to.equal(
      'a  success  changed  success message\n    --- /etc/a\n    +++ /etc/a (pushed)\n    @@ -1,1 +1,1 @@\n    -old\n    +new\n' +
        'b  success  unchanged  success message\n    no diff: the content is the same\n',
    );
  });

  it('on a terminal: left out while outcomes arrive, then drawn under each row, cut to the width', () => {
    const { io, out } = capture(true);
    const table = ResultsTable.for(io, false, false);
    table.expect(['a']);
    table.update({ ...row('a', 'success', true), diff: `${DIFF}+${'x'.repeat(100)}\n` });
    expect(out.text).to.not.contain('+new');
    out.text = '';
    table.finish();
    const lines = out.text
      .replace(new RegExp(`^${String.fromCharCode(27)}\\[\\d+A${String.fromCharCode(27)}\\[J`), '')
      .split('\n');
    expect(lines.slice(1, 4)).to.deep.equal([
      'a       success  changed  success message',
      '    --- /etc/a',
      '    +++ /etc/a (pushed)',
    ]);
    expect(lines.every((l) => l.length <= 59)).to.equal(true);
    expect(out.text).to.contain('    +new\n');
  });
});
