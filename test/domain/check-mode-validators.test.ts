import { expect } from 'chai';
import { makeAgent, RPORT_GID, RPORT_UID } from './support/agent-fixture.ts';

const DEST = '/srv/app/file.txt';
const NGINX = { validators: { nginx: ['/usr/sbin/nginx', '-t', '-c', '%s'] }, timeoutMs: 30_000 };
const backups = (a: ReturnType<typeof makeAgent>) =>
  a.files.list('/srv/app').filter((p) => p.endsWith('.bak'));

describe('ReceiveFile, check mode with validators and backups', () => {
  it('a check runs the named validator on the verified temp file; its refusal is the error, the host unchanged', async () => {
    let seen: string | undefined;
    const a = makeAgent({
      settings: { validators: NGINX },
      validator: (argv) => {
        seen = a.files.readText(argv[3]);
        return { exitCode: 1, stderr: 'nginx: [emerg] unknown directive "bad"\n' };
      },
    });
    a.files.writeFile(DEST, 'old', { uid: RPORT_UID, gid: RPORT_GID });
    const v = await a.push('bad', { validate: 'nginx', force: true, check: true });
    expect(seen, 'the validator read the pushed bytes').to.equal('bad');
    expect(v.status).to.equal('error');
    expect(v.message).to.match(/^check: validator "nginx" \(\[file-reception\.validators\] nginx\) refused/);
    expect(v.message).to.contain('unknown directive "bad"');
    expect(a.files.readText(DEST)).to.equal('old');
    expect(a.files.tempFiles()).to.deep.equal([]);
  });

  it('a check whose validator accepts says what it would do; the real push then runs it again and places', async () => {
    const a = makeAgent({ settings: { validators: NGINX } });
    a.files.writeFile(DEST, 'old', { uid: RPORT_UID, gid: RPORT_GID });
    const checked = await a.push('new', { validate: 'nginx', force: true, check: true });
    expect(checked).to.include({ status: 'success', changed: true });
    expect(checked.message).to.match(/^check: would replace/);
    expect(a.validators.runs).to.have.length(1);
    expect(a.files.readText(DEST)).to.equal('old');
    expect((await a.push('new', { validate: 'nginx', force: true })).status).to.equal('success');
    expect(a.validators.runs).to.have.length(2);
    expect(a.files.readText(DEST)).to.equal('new');
  });

  it('an unknown validator name is refused in a check too, before anything is fetched', async () => {
    const a = makeAgent({ settings: { validators: NGINX } });
    const v = await a.push('x', { validate: 'sshd', check: true });
    expect(v.status).to.equal('error');
    expect(v.message).to.contain('validator "sshd" is not named in [file-reception.validators]');
    expect(a.opened()).to.equal(0);
  });

  it('a check never keeps a backup, whether the push or the agent asks for one', async () => {
    const a = makeAgent({ settings: { backup: true } });
    a.files.writeFile(DEST, 'v1', { uid: RPORT_UID, gid: RPORT_GID });
    const v = await a.push('v2', { force: true, backup: true, check: true });
    expect(v.status).to.equal('success');
    expect(v).to.not.have.property('backup');
    expect(backups(a)).to.deep.equal([]);
    expect(a.files.readText(DEST)).to.equal('v1');
  });
});
