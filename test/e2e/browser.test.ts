import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Cluster } from './helpers/cluster.ts';
import { PausingProxy } from './helpers/pausing-proxy.ts';
import { ROOT } from './helpers/processes.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'artifacts');
const AGENTS = ['web-1', 'web-2'];
const WAIT = { timeout: 15_000 };

interface Row {
  uuid: string;
  client: string;
  cls: string;
  /** time, client_id, uuid, status, filepath, size, changed, message */
  cells: string[];
}

const rowsOf = (page: Page, uuid: string): Promise<Row[]> =>
  page.$$eval(
    '#rows tr',
    (trs, id) =>
      trs
        .map((tr) => ({
          uuid: tr.dataset.uuid ?? '',
          client: tr.dataset.client ?? '',
          cls: tr.className,
          cells: [...tr.querySelectorAll('td')].map((td) => td.textContent ?? ''),
        }))
        .filter((r) => r.uuid === id)
        .sort((a, b) => a.client.localeCompare(b.client)),
    uuid,
  );

/** Until the rows of upload uuid show exactly these statuses, one per client. */
async function statusesReach(page: Page, uuid: string, want: Record<string, string>): Promise<Row[]> {
  await page.waitForFunction(
    ([id, w]) => {
      const got: Record<string, string> = {};
      for (const tr of document.querySelectorAll<HTMLTableRowElement>('#rows tr'))
        if (tr.dataset.uuid === id) got[tr.dataset.client ?? ''] = tr.className;
      return JSON.stringify(Object.entries(got).sort()) === JSON.stringify(Object.entries(w).sort());
    },
    [uuid, want] as const,
    WAIT,
  );
  return rowsOf(page, uuid);
}

/** Fills the page's upload form and sends it; the uuid from "accepted as …". */
async function uploadFromPage(
  page: Page,
  file: { name: string; content: string },
  fields: { clients: string; dest: string; force?: boolean },
): Promise<string> {
  await page.setInputFiles('#file', {
    name: file.name,
    mimeType: 'text/plain',
    buffer: Buffer.from(file.content),
  });
  await page.fill('#clients', fields.clients);
  await page.fill('#dest', fields.dest);
  await page.setChecked('#force', fields.force ?? false);
  await page.click('#send');
  await page.waitForFunction(
    () => /^(accepted|refused)/.test(document.getElementById('upload-state')?.textContent ?? ''),
    undefined,
    WAIT,
  );
  const said = (await page.textContent('#upload-state')) ?? '';
  const m = said.match(/^accepted as ([0-9a-f-]{36})/);
  if (!m) throw new Error(`the page did not accept the upload: ${said}`);
  return m[1];
}

const textIs = (page: Page, id: string, text: string): Promise<unknown> =>
  page.waitForFunction(([i, t]) => document.getElementById(i)?.textContent === t, [id, text] as const, WAIT);

describe('e2e browser: the live results page /api/v1/test/uploads/ui in headless Chromium', function () {
  this.timeout(90_000);
  let c: Cluster | undefined;
  let browser: Browser | undefined;
  let proxy: PausingProxy | undefined;

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
    // A stopped agent would hold up its SIGTERM.
    const paused = c?.agents.get('web-2');
    if (paused?.running) process.kill(paused.pid, 'SIGCONT');
    await browser?.close();
    await c?.stop();
    await proxy?.close();
  });

  it('log in, upload from the page: a pending row per target turns final; every row shows path and size; text stays text', async () => {
    const cluster = c!;
    const page = await browser!.newPage({ viewport: { width: 1600, height: 700 } });
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    page.on('pageerror', (e) => violations.push(`script error: ${e.message}`));
    await page.goto(`${cluster.url}/api/v1/test/uploads/ui`);
    expect(await page.title()).to.equal('rportd: live upload results');
    expect(await page.isVisible('#login-view')).to.equal(true);
    expect(await page.isVisible('#main-view')).to.equal(false);

    // A wrong password: the form stays, with the server's reason.
    await page.fill('#username', cluster.admin.username);
    await page.fill('#password', 'not-the-password');
    await page.click('#login-button');
    await page.waitForFunction(
      () => document.getElementById('login-error')?.textContent?.startsWith('login refused'),
      undefined,
      WAIT,
    );
    expect(await page.textContent('#login-error')).to.include('wrong username or password');
    expect(await page.isVisible('#main-view')).to.equal(false);

    // The right one: logged in, the socket opens by itself, the password field is emptied.
    await page.fill('#password', cluster.admin.password);
    await page.click('#login-button');
    await textIs(page, 'state', 'open');
    expect(await page.isVisible('#login-view')).to.equal(false);
    expect(await page.textContent('#who')).to.equal('admin');
    expect(await page.textContent('#known')).to.equal('web-1, web-2');
    expect(await page.inputValue('#password')).to.equal('');

    // web-2 is paused, so its target stays pending until it runs again.
    const dest = cluster.dest('etc/motd');
    const web2 = cluster.agents.get('web-2')!;
    process.kill(web2.pid, 'SIGSTOP');
    let first: string;
    try {
      first = await uploadFromPage(
        page,
        { name: 'motd', content: 'Welcome\n' },
        { clients: 'web-1, web-2', dest, force: true },
      );
      const pending = await statusesReach(page, first, { 'web-1': 'success', 'web-2': 'pending' });
      expect(pending.map((r) => r.cells.slice(1, 6))).to.deep.equal([
        ['web-1', first, 'success', dest, '8'],
        ['web-2', first, 'pending', dest, '8'],
      ]);
      expect(pending[1].cells[7]).to.equal('waiting for the client');
    } finally {
      process.kill(web2.pid, 'SIGCONT');
    }
    const placed = await statusesReach(page, first, { 'web-1': 'success', 'web-2': 'success' });
    for (const r of placed) expect(r.cells.slice(3, 6)).to.deep.equal(['success', dest, '8']);
    expect(placed[1].cells[7]).to.equal('file successfully copied to destination');

    // The same file again, without force: ignored, and the rows still name the path and size.
    const again = await uploadFromPage(
      page,
      { name: 'motd', content: 'Welcome\n' },
      { clients: 'web-1,web-2', dest },
    );
    const ignored = await statusesReach(page, again, { 'web-1': 'ignored', 'web-2': 'ignored' });
    for (const r of ignored) {
      expect(r.cells.slice(3, 6)).to.deep.equal(['ignored', dest, '8']);
      expect(r.cells[7]).to.include('already exists');
    }

    // A protected destination whose name is markup: error rows with path and size, shown as text.
    const hostile = '/usr/bin/<img src=x onerror=alert(1)>';
    const refused = await uploadFromPage(
      page,
      { name: 'tool', content: '#!/bin/sh\n' },
      { clients: 'web-1 web-2', dest: hostile },
    );
    const errors = await statusesReach(page, refused, { 'web-1': 'error', 'web-2': 'error' });
    for (const r of errors) {
      expect(r.cells.slice(3, 6)).to.deep.equal(['error', hostile, '10']);
      expect(r.cells[7]).to.include('[file-reception] protected').and.include(hostile);
    }
    expect(await page.$$('#rows img')).to.have.length(0);

    // An upload the page did not make (curl's, say) gets its rows from the socket, path included.
    const outside = await cluster.upload(
      { name: 'upload', filename: 'issue', content: Buffer.from('hi\n') },
      [
        ['client_id', 'web-1'],
        ['dest', cluster.dest('etc/issue')],
      ],
    );
    expect(outside.status).to.equal(200);
    const outsideUuid = (outside.body.data as { uuid: string }).uuid;
    const theirs = await statusesReach(page, outsideUuid, { 'web-1': 'success' });
    expect(theirs[0].cells.slice(3, 6)).to.deep.equal(['success', cluster.dest('etc/issue'), '3']);
    // Newest upload first.
    expect(await page.$eval('#rows tr', (tr) => tr.dataset.uuid)).to.equal(outsideUuid);

    expect(violations, 'no CSP violation, no script error').to.deep.equal([]);
    await mkdir(ARTIFACTS, { recursive: true });
    const shot = join(ARTIFACTS, 'e2e-test-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(existsSync(shot)).to.equal(true);
    await page.close();
  });

  it('the login lasts for the tab; Log out returns to the form; a pasted token still works', async () => {
    const cluster = c!;
    const page = await browser!.newPage();
    await page.goto(`${cluster.url}/api/v1/test/uploads/ui`);
    await page.fill('#username', cluster.admin.username);
    await page.fill('#password', cluster.admin.password);
    await page.click('#login-button');
    await textIs(page, 'state', 'open');

    await page.reload();
    await textIs(page, 'state', 'open');
    expect(await page.textContent('#who')).to.equal('admin');

    await page.click('#logout');
    await textIs(page, 'login-error', 'logged out');
    expect(await page.isVisible('#main-view')).to.equal(false);
    expect(await page.evaluate(() => sessionStorage.length)).to.equal(0);

    await page.click('summary');
    await page.fill('#token', 'not.a-token.at-all');
    await page.click('#use-token');
    await page.waitForFunction(
      () => /log in again$/.test(document.getElementById('login-error')?.textContent ?? ''),
      undefined,
      WAIT,
    );
    expect(await page.isVisible('#main-view')).to.equal(false);

    await page.fill('#token', cluster.token);
    await page.click('#use-token');
    await textIs(page, 'state', 'open');
    expect(await page.textContent('#who')).to.equal('admin');
    await page.close();
  });

  it('a pending row shows a bar (<progress>) while its client fetches a large file, until its outcome', async () => {
    const cluster = c!;
    // An agent whose link holds the file's bytes for a while after the first MiB (helpers/pausing-proxy.ts).
    proxy = await new PausingProxy().listen();
    proxy.target = cluster.sshPort;
    await cluster.addAgent({ id: 'slow-1', port: proxy.port });
    const page = await browser!.newPage({ viewport: { width: 1600, height: 700 } });
    await page.goto(`${cluster.url}/api/v1/test/uploads/ui`);
    await page.fill('#username', cluster.admin.username);
    await page.fill('#password', cluster.admin.password);
    await page.click('#login-button');
    await textIs(page, 'state', 'open');
    // Every bar the page ever draws, with its row as it was then.
    await page.evaluate(() => {
      const bars: { client: string; status: string; value: number; max: number; text: string }[] = [];
      (window as unknown as { bars: typeof bars }).bars = bars;
      new MutationObserver((changes) => {
        for (const ch of changes)
          for (const n of ch.addedNodes) {
            if (!(n instanceof HTMLProgressElement)) continue;
            const tr = n.closest('tr')!;
            bars.push({
              client: tr.dataset.client ?? '',
              status: tr.className,
              value: n.value,
              max: n.max,
              text: n.parentElement?.textContent ?? '',
            });
          }
      }).observe(document.getElementById('rows')!, { childList: true, subtree: true });
    });
    const size = 4 * 1024 * 1024;
    const stalled = proxy.pauseAfter(1024 * 1024, 1500);
    await page.setInputFiles('#file', {
      name: 'big.bin',
      mimeType: 'application/octet-stream',
      buffer: Buffer.alloc(size, 7),
    });
    await page.fill('#clients', 'slow-1');
    await page.fill('#dest', cluster.dest('srv/big.bin'));
    await page.click('#send');
    await page.waitForFunction(
      () => /^accepted as/.test(document.getElementById('upload-state')?.textContent ?? ''),
      undefined,
      WAIT,
    );
    const uuid = /accepted as ([0-9a-f-]{36})/.exec((await page.textContent('#upload-state')) ?? '')![1];
    await stalled;
    const [row] = await statusesReach(page, uuid, { 'slow-1': 'success' });
    expect(row.cells[7]).to.equal('file successfully copied to destination');
    const bars = await page.evaluate(
      () =>
        (
          window as unknown as {
            bars: { client: string; status: string; value: number; max: number; text: string }[];
          }
        ).bars,
    );
    expect(bars.length, 'at least one bar was drawn').to.be.at.least(1);
    for (const b of bars) {
      expect(b).to.include({ client: 'slow-1', status: 'pending', max: size });
      expect(b.value).to.be.within(1, size);
      expect(b.text).to.match(/fetching: \d+%$/);
    }
    expect(await page.$$('#rows progress'), 'no bar once the outcome came').to.have.length(0);
    await page.close();
  });
});
