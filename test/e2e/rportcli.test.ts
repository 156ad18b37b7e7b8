import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Cluster } from './helpers/cluster.ts';
import { BIN, runToEnd } from './helpers/processes.ts';

const ALL = ['cli-1', 'cli-2', 'cli-3'];

interface UploadJson {
  uuid: string;
  filepath: string;
  size: number;
  ok: boolean;
  results: { client_id: string; status: string; message: string; filepath: string; size: number }[];
}

describe('e2e: bin/rportcli.js upload --json against rportd and three rport agents', function () {
  this.timeout(60_000);
  let c: Cluster;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    c = await Cluster.start({ agents: ALL.map((id) => ({ id })) });
    // Only the environment configures rportcli here: no saved login from the machine's user is read.
    env = {
      PATH: process.env.PATH,
      HOME: c.dir,
      XDG_CONFIG_HOME: join(c.dir, 'config'),
      RPORT_API_URL: c.url,
      RPORT_API_USER: c.admin.username,
      RPORT_API_PASSWORD: c.admin.password,
    };
  });
  after(async () => c?.stop());

  async function rportcli(
    file: string,
    dest: string,
  ): Promise<{ code: number | null; json: UploadJson; stderr: string }> {
    const r = await runToEnd(
      BIN.rportcli,
      ['upload', file, '--client', ALL.join(','), '--dest', dest, '--json'],
      env,
    );
    let json: UploadJson;
    try {
      json = JSON.parse(r.stdout) as UploadJson;
    } catch {
      throw new Error(
        `rportcli --json printed no JSON (exit ${r.code}); stdout:\n${r.stdout}\nstderr:\n${r.stderr}`,
      );
    }
    return { code: r.code, json, stderr: r.stderr };
  }

  it('every target succeeds: exit code 0, and the JSON holds the uuid and a success per client that match the stored results', async () => {
    const file = join(c.dir, 'release.tar');
    const content = randomBytes(100_000);
    await writeFile(file, content);
    const dest = c.dest('cli/release.tar');
    const { code, json, stderr } = await rportcli(file, dest);
    expect(code, stderr).to.equal(0);
    expect(json.uuid).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(json).to.include({ ok: true, size: content.length, filepath: dest });
    const rows = [...json.results].sort((a, b) => a.client_id.localeCompare(b.client_id));
    expect(rows.map((r) => [r.client_id, r.status, r.message])).to.deep.equal(
      ALL.map((id) => [id, 'success', 'file successfully copied to destination']),
    );
    for (const id of ALL)
      expect((await readFile(c.onHost(id, 'cli/release.tar'))).equals(content), `bytes on ${id}`).to.equal(
        true,
      );

    const stored = await c.api('GET', `/api/v1/files/${json.uuid}`);
    const targets = (stored.body!.data as { targets: { client_id: string; status: string }[] }).targets;
    expect(targets.map((t) => [t.client_id, t.status]).sort()).to.deep.equal(
      ALL.map((id) => [id, 'success']),
    );
  });

  it('one target fails (a directory stands at the destination on cli-3): non-zero exit code, ok false, the error on cli-3 only', async () => {
    const file = join(c.dir, 'app.conf');
    await writeFile(file, 'key = value\n');
    await mkdir(c.onHost('cli-3', 'cli/app.conf'), { recursive: true });
    const { code, json } = await rportcli(file, c.dest('cli/app.conf'));
    expect(code).to.equal(1);
    expect(json.ok).to.equal(false);
    const byId = Object.fromEntries(json.results.map((r) => [r.client_id, r]));
    expect(byId['cli-1'].status).to.equal('success');
    expect(byId['cli-2'].status).to.equal('success');
    expect(byId['cli-3'].status).to.equal('error');
    expect(byId['cli-3'].message).to.include(c.dest('cli/app.conf'));
    expect(await readFile(c.onHost('cli-1', 'cli/app.conf'), 'utf8')).to.equal('key = value\n');
  });

  it('a protected destination: non-zero exit code, and every client error names the [file-reception] protected rule', async () => {
    const file = join(c.dir, 'tool');
    await writeFile(file, '#!/bin/sh\n');
    const dest = `/usr/bin/rport-e2e-${randomBytes(6).toString('hex')}`;
    const { code, json } = await rportcli(file, dest);
    expect(code).to.equal(1);
    expect(json.ok).to.equal(false);
    expect(json.results).to.have.length(3);
    for (const r of json.results) {
      expect(r.status).to.equal('error');
      expect(r.message).to.equal(
        `${dest} is a protected path (matches "/usr/bin" in [file-reception] protected)`,
      );
    }
  });

  it('bad input (a missing local file) exits 2 with a message naming the file, and uploads nothing', async () => {
    const missing = join(c.dir, 'no-such-file');
    const r = await runToEnd(
      BIN.rportcli,
      ['upload', missing, '--client', 'cli-1', '--dest', c.dest('cli/none'), '--json'],
      env,
    );
    expect(r.code).to.equal(2);
    expect(r.stderr).to.include(missing);
    expect(await c.filepush()).to.deep.equal([]);
  });

  it('a push the agents ignore (the file is there, no --force or --sync): exit 0, and 1 with --fail-on-ignored', async () => {
    const file = join(c.dir, 'once.conf');
    await writeFile(file, 'first = 1\n');
    const dest = c.dest('cli/once.conf');
    expect((await rportcli(file, dest)).code).to.equal(0);
    await writeFile(file, 'second = 2\n');
    const args = ['upload', file, '--client', ALL.join(','), '--dest', dest, '--json'];
    const plain = await runToEnd(BIN.rportcli, args, env);
    expect(plain.code, plain.stderr).to.equal(0);
    const strict = await runToEnd(BIN.rportcli, [...args, '--fail-on-ignored'], env);
    expect(strict.code, strict.stderr).to.equal(1);
    const json = JSON.parse(strict.stdout) as UploadJson;
    expect(json.ok).to.equal(false);
    expect(json.results.map((r) => r.status)).to.deep.equal(['ignored', 'ignored', 'ignored']);
    expect(await readFile(c.onHost('cli-1', 'cli/once.conf'), 'utf8')).to.equal('first = 1\n');
    const status = await runToEnd(BIN.rportcli, ['status', json.uuid, '--fail-on-ignored'], env);
    expect(status.code, status.stderr).to.equal(1);
  });

  it("--version: rportcli and rportd print package.json's version", async () => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    for (const bin of [BIN.rportcli, BIN.rportd]) {
      const r = await runToEnd(bin, ['--version'], env);
      expect(r.code, `${bin}: ${r.stderr}`).to.equal(0);
      expect(r.stdout, bin).to.equal(`${pkg.version}\n`);
    }
  });
});
