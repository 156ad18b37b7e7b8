import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = new URL('../../', import.meta.url);
const BUILT = new URL('dist/composition/rportcli/main.js', ROOT);

describe('bin/rportcli.js', () => {
  it('runs the built CLI: --version prints the package version, and an unknown command exits 2', async function () {
    if (!existsSync(BUILT)) {
      if (process.env.CI === 'true')
        throw new Error(`${fileURLToPath(BUILT)} is missing: npm test builds it first (npm run build)`);
      console.warn(
        `      SKIPPED: ${fileURLToPath(BUILT)} is missing; run \`npm run build\` to test the launcher`,
      );
      return this.skip();
    }
    const run = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
      new Promise((resolve) => {
        execFile(
          process.execPath,
          [fileURLToPath(new URL('bin/rportcli.js', ROOT)), ...args],
          { env: { PATH: process.env.PATH } },
          (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
        );
      });
    const version = (JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as { version: string })
      .version;
    const v = await run(['--version']);
    expect(v).to.include({ code: 0, stdout: `${version}\n` });
    const bad = await run(['bogus']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.contain("unknown command 'bogus'");
  });
});

describe('bin/rportd.js and bin/rport.js', () => {
  for (const [bin, built] of [
    ['rportd', 'dist/composition/rportd/main.js'],
    ['rport', 'dist/bundle/rport.js'],
  ]) {
    it(`${bin} --version prints the package version and exits 0`, async function () {
      if (!existsSync(new URL(built, ROOT))) {
        if (process.env.CI === 'true') throw new Error(`${built} is missing: npm test builds it first`);
        console.warn(`      SKIPPED: ${built} is missing; run \`npm run build\` to test the launcher`);
        return this.skip();
      }
      const version = (JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as { version: string })
        .version;
      const got = await new Promise<{ code: number; stdout: string }>((resolve) =>
        execFile(
          process.execPath,
          [fileURLToPath(new URL(`bin/${bin}.js`, ROOT)), '--version'],
          { env: { PATH: process.env.PATH } },
          (err, stdout) => resolve({ code: err ? Number(err.code) : 0, stdout }),
        ),
      );
      expect(got).to.deep.equal({ code: 0, stdout: `${version}\n` });
    });
  }
});
