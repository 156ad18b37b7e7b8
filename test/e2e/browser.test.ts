import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { Cluster } from './helpers/cluster.ts';
import { ROOT } from './helpers/processes.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'artifacts');
const AGENTS = ['web-1', 'web-2'];

describe('e2e browser: the live results page /api/v1/test/uploads/ui in headless Chromium', function () {
  this.timeout(60_000);
  let c: Cluster | undefined;
  let browser: Browser | undefined;

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      // Locally a missing browser skips loudly; in CI it is a failure (.ci/run installs Debian's chromium).
      if (process.env.CI === 'true')
        throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)`);
      console.warn(
        `\n  !!! SKIPPING the browser test: ${CHROMIUM} is missing (apt-get install chromium); under CI=true this fails\n`,
      );
      this.skip();
    }
    c = await Cluster.start({ agents: AGENTS.map((id) => ({ id })), testEndpoints: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  after(async () => {
    await browser?.close();
    await c?.stop();
  });

  it('paste a token, press Open, upload: the outcome rows appear with client id and status; a screenshot is saved', async () => {
    const cluster = c!;
    const page = await browser!.newPage({ viewport: { width: 1400, height: 600 } });
    await page.goto(`${cluster.url}/api/v1/test/uploads/ui`);
    expect(await page.title()).to.equal('rportd: live upload results');
    await page.fill('#token', cluster.token);
    await page.click('#open');
    await page.waitForFunction(() => document.getElementById('state')?.textContent === 'open', undefined, {
      timeout: 10_000,
    });

    const targets = AGENTS.map((id): [string, string] => ['client_id', id]);
    const ok = await cluster.upload({ name: 'upload', filename: 'motd', content: Buffer.from('Welcome\n') }, [
      ...targets,
      ['dest', cluster.dest('etc/motd')],
    ]);
    expect(ok.status).to.equal(200);
    await page.waitForFunction(() => document.querySelectorAll('#rows tr').length === 2, undefined, {
      timeout: 15_000,
    });
    const refused = await cluster.upload(
      { name: 'upload', filename: 'tool', content: Buffer.from('#!/bin/sh\n') },
      [...targets, ['dest', '/usr/bin/rport-e2e-browser']],
    );
    expect(refused.status).to.equal(200);
    await page.waitForFunction(() => document.querySelectorAll('#rows tr').length === 4, undefined, {
      timeout: 15_000,
    });

    // Columns: time, client_id, uuid, status, filepath, size, message; the newest row comes first.
    const rows = await page.$$eval('#rows tr', (trs) =>
      trs.map((tr) => ({
        cls: tr.className,
        cells: [...tr.querySelectorAll('td')].map((td) => td.textContent ?? ''),
      })),
    );
    const okUuid = (ok.body.data as { uuid: string }).uuid;
    const refusedUuid = (refused.body.data as { uuid: string }).uuid;
    const view = rows
      .map((r) => [r.cells[1], r.cells[2], r.cells[3], r.cls])
      .sort((a, b) => `${a[1]}${a[0]}`.localeCompare(`${b[1]}${b[0]}`));
    const expected = [
      ...AGENTS.map((id) => [id, okUuid, 'success', 'success']),
      ...AGENTS.map((id) => [id, refusedUuid, 'error', 'error']),
    ].sort((a, b) => `${a[1]}${a[0]}`.localeCompare(`${b[1]}${b[0]}`));
    expect(view).to.deep.equal(expected);
    expect(
      rows.slice(0, 2).map((r) => r.cells[3]),
      'newest first',
    ).to.deep.equal(['error', 'error']);
    for (const r of rows.filter((x) => x.cells[3] === 'error'))
      expect(r.cells[6]).to.include('[file-reception] protected');
    for (const r of rows.filter((x) => x.cells[3] === 'success'))
      expect([r.cells[4], r.cells[5]]).to.deep.equal([cluster.dest('etc/motd'), '8']);

    await mkdir(ARTIFACTS, { recursive: true });
    const shot = join(ARTIFACTS, 'e2e-test-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(existsSync(shot)).to.equal(true);
    await page.close();
  });
});
