import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Proc } from '../../e2e/helpers/processes.ts';

const BUILT = fileURLToPath(new URL('../../../dist/composition/demo/main.js', import.meta.url));
const PROGRAMS = 'rportd, demo-client-1, demo-client-2, demo-client-3';

/** `npm run demo` runs the built demo: skipped loudly without dist/, a failure under CI=true. */
function requireDemo(ctx: Mocha.Context): void {
  if (existsSync(BUILT)) return;
  if (process.env.CI === 'true')
    throw new Error(`${BUILT} is missing: npm test builds it first (npm run build)`);
  console.warn(`      SKIPPED: ${BUILT} is missing; run \`npm run build\` to test the demo`);
  ctx.skip();
}

/** The demo's temp folder, from its first heading. */
const folderOf = (out: string): string => out.match(/Starting rportd \(data in (\S+)\/server\)/)![1];

describe('npm run demo (dist/composition/demo/main.js as a process)', function () {
  this.timeout(120_000);
  let demo: Proc | undefined;
  afterEach(async () => {
    // SIGTERM lets the demo stop its own rportd and agents.
    await demo?.stop();
    demo = undefined;
  });

  it('--once: pushes, stops everything, then says so; it never tells the user to press Ctrl-C', async function () {
    requireDemo(this);
    demo = new Proc('demo --once', BUILT, ['--once']);
    const code = await demo.exited;
    const out = demo.output();
    expect(code, out).to.equal(0);
    expect(out).to.include('push 1 → 0').and.include('push 2 → 1');
    const dir = folderOf(out);
    const last = out.trimEnd().split('\n').at(-1);
    expect(last).to.equal(`--once: both pushes went as expected: stopped ${PROGRAMS}; removed ${dir}.`);
    expect(out).not.to.match(/Ctrl-C|keep running/);
    expect(existsSync(dir), `${dir} removed`).to.equal(false);
  });

  it('interactive: prints the page and a login that works, says how to stop; Ctrl-C stops everything and says so', async function () {
    requireDemo(this);
    demo = new Proc('demo', BUILT, []);
    await demo.waitFor(/Press Ctrl-C to stop rportd and the agents and remove it\.\n/, 100_000);
    const out = demo.output();
    const dir = folderOf(out);
    const page = out.match(/The live results page: +(\S+)/)![1];
    const [, username, password] = out.match(/Log in there as (\S+), password (\S+);/)!;

    // What the demo prints works while it runs.
    const served = await fetch(page);
    expect(served.status).to.equal(200);
    expect(await served.text()).to.include('id="password"');
    const login = await fetch(new URL('/api/v1/login', page), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    expect(login.status).to.equal(200);
    expect(existsSync(dir)).to.equal(true);

    process.kill(demo.pid, 'SIGINT');
    expect(await demo.exited).to.equal(0);
    const last = demo.output().trimEnd().split('\n').at(-1);
    expect(last).to.equal(`Ctrl-C: stopped ${PROGRAMS}; removed ${dir}.`);
    expect(existsSync(dir), `${dir} removed`).to.equal(false);
    await fetch(page).then(
      () => expect.fail('rportd still answers after Ctrl-C'),
      (e: Error) => expect(e.message).to.equal('fetch failed'),
    );
  });
});
