import type Router from '@koa/router';
import { createHash } from 'node:crypto';
import { notFound } from './api-error.ts';
import { TEST_PAGE_SCRIPT } from './test-page-script.ts';

const TEST_PAGE_PATH = '/api/v1/test/uploads/ui';

const STYLE = `
  body { font-family: system-ui, sans-serif; margin: 1.5rem; }
  form { margin: .5rem 0; }
  label { margin-right: 1rem; white-space: nowrap; }
  .wide { width: 24rem; max-width: 80vw; }
  table { border-collapse: collapse; margin-top: 1rem; }
  th, td { border: 1px solid #ccc; padding: .25rem .5rem; text-align: left; font-size: .9rem; }
  .success { color: #176b1c; } .error { color: #b00020; } .ignored { color: #7a5b00; } .pending { color: #555; font-style: italic; }
  #login-error { color: #b00020; }
`;

/**
 * The sandbox page: log in (or paste a token), upload a file, and watch one row per target go
 * from pending to its outcome. Script and style are inline and pinned by hash, so the page loads
 * nothing else and runs nothing else.
 */
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>rportd: live upload results</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Live upload results</h1>
<section id="login-view">
<form id="login">
  <label>Username <input id="username" autocomplete="username" required></label>
  <label>Password <input id="password" type="password" autocomplete="current-password" required></label>
  <button id="login-button" type="submit">Log in</button>
</form>
<details>
  <summary>Use an access token instead</summary>
  <form id="token-form">
    <label>Token <input id="token" class="wide" type="password" autocomplete="off"></label>
    <button id="use-token" type="submit">Use token</button>
  </form>
</details>
<p id="login-error" role="alert"></p>
</section>
<section id="main-view" hidden>
<p>Logged in as <strong id="who"></strong> <button id="logout" type="button">Log out</button>
  · Live results: <span id="state">closed</span>
  <button id="open" type="button">Open</button> <button id="close" type="button" disabled>Close</button></p>
<form id="upload">
  <label>File <input id="file" type="file" required></label>
  <label>Client ids <input id="clients" placeholder="web-1, web-2"></label>
  <label>Group ids <input id="groups" placeholder="web"></label><br>
  <label>Destination <input id="dest" class="wide" placeholder="/etc/motd" required></label>
  <label>Mode <input id="mode" size="5" placeholder="0644"></label>
  <label><input id="force" type="checkbox"> force</label>
  <label><input id="sync" type="checkbox"> sync</label>
  <button id="send" type="submit">Upload</button>
</form>
<p>Clients you may reach: <span id="known"></span></p>
<p id="upload-state"></p>
<table>
  <thead><tr><th>time</th><th>client_id</th><th>uuid</th><th>status</th><th>filepath</th><th>size</th><th>changed</th><th>message</th></tr></thead>
  <tbody id="rows"></tbody>
</table>
</section>
<script>${TEST_PAGE_SCRIPT}</script>
</body>
</html>
`;

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** Nothing but this page's own script, style, API calls and socket; no forms posted by the browser itself. */
const CSP = [
  "default-src 'none'",
  `script-src ${sha256(TEST_PAGE_SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  "form-action 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function testPageRoutes(router: Router, enabled: boolean): void {
  router.get(TEST_PAGE_PATH, async (ctx) => {
    if (!enabled)
      throw notFound(
        `${TEST_PAGE_PATH} is served only with enable_ws_test_endpoints = true in [server] of rportd.conf`,
      );
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('Content-Security-Policy', CSP);
    ctx.body = PAGE;
  });
}
