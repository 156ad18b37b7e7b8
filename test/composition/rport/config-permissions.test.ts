import { expect } from 'chai';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { permissionWarning, type ProcessIdentity } from '../../../src/adapters/config/agent-config.ts';
import { BIN, freePort, Proc, requireBuilt } from '../../e2e/helpers/processes.ts';

const AGENT: ProcessIdentity = { uid: 1000, gids: [1000, 27], username: 'rport' };
const PATH = '/etc/rport/rport.conf';
const file = (mode: number, uid = 1000, gid = 1000) => ({ mode: 0o100000 | mode, uid, gid });

describe('rport: a warning when rport.conf (it holds the client password) is readable by other users', function () {
  this.timeout(30_000);

  describe('permissionWarning', () => {
    it('its own file, 0600 or 0400: no warning', () => {
      expect(permissionWarning(PATH, file(0o600), AGENT)).to.equal(undefined);
      expect(permissionWarning(PATH, file(0o400), AGENT)).to.equal(undefined);
    });

    it('its own file readable by its group or by all: names the file and `chmod 600 <path>`', () => {
      for (const mode of [0o644, 0o640, 0o604]) {
        const w = permissionWarning(PATH, file(mode), AGENT);
        expect(w, mode.toString(8)).to.equal(
          `${PATH} can be read by other users, and it holds the client password: run \`chmod 600 ${PATH}\``,
        );
      }
    });

    it('root:<its group> 0640, read through the group: no warning; readable by all: `chmod 640`, which keeps it readable', () => {
      expect(permissionWarning(PATH, file(0o640, 0, 27), AGENT)).to.equal(undefined);
      expect(permissionWarning(PATH, file(0o644, 0, 27), AGENT)).to.include(`run \`chmod 640 ${PATH}\``);
    });

    it('read only through the "others" bit: chown to the agent user, then chmod 600', () => {
      expect(permissionWarning(PATH, file(0o644, 0, 0), AGENT)).to.include(
        `run \`chown rport ${PATH} && chmod 600 ${PATH}\``,
      );
    });

    it('an agent running as root: any group or other read is too open', () => {
      const root: ProcessIdentity = { uid: 0, gids: [0], username: 'root' };
      expect(permissionWarning(PATH, file(0o640, 0, 27), root)).to.include(`chmod 600 ${PATH}`);
      expect(permissionWarning(PATH, file(0o600, 0, 0), root)).to.equal(undefined);
    });

    it('a path with a space is quoted in the command', () => {
      expect(permissionWarning('/etc/my rport.conf', file(0o644), AGENT)).to.include(
        "run `chmod 600 '/etc/my rport.conf'`",
      );
    });
  });

  describe('bin/rport.js at start', () => {
    let dir: string;
    beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'rport-conf-mode-'))));
    afterEach(() => rm(dir, { recursive: true, force: true }));

    /** Starts the agent against a port nobody listens on, and returns its output up to its first retry. */
    async function startOutput(mode: number): Promise<string> {
      requireBuilt();
      const conf = join(dir, 'rport.conf');
      await writeFile(
        conf,
        `[client]\nserver = "127.0.0.1:${await freePort()}"\nfingerprint = "SHA256:${'A'.repeat(43)}"\n` +
          `auth = "agents:secret"\nid = "perm-1"\ndata_dir = "data"\n`,
      );
      await chmod(conf, mode);
      const agent = new Proc('rport', BIN.rport, ['--config', conf]);
      try {
        await agent.waitFor(/not connected to the server; retrying/, 20_000);
        return agent.output();
      } finally {
        await agent.stop();
      }
    }

    it('rport.conf 0644: a warning naming the file and `chmod 600 <path>`', async () => {
      const out = await startOutput(0o644);
      const conf = join(dir, 'rport.conf');
      const line = out.split('\n').find((l) => l.includes('can be read by other users'));
      expect(line, out).to.be.a('string');
      const entry = JSON.parse(line!) as { level: string; msg: string; config: string };
      expect(entry.level).to.equal('warn');
      expect(entry.config).to.equal(conf);
      expect(entry.msg).to.equal(
        `rport.conf ${conf} can be read by other users, and it holds the client password: run \`chmod 600 ${conf}\``,
      );
    });

    it('rport.conf 0600: no warning', async () => {
      expect(await startOutput(0o600)).to.not.include('can be read by other users');
    });
  });
});
