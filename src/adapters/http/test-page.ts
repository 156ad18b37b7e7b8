import type Router from '@koa/router';
import { notFound } from './api-error.ts';
import { UPLOADS_SOCKET_PATH } from './uploads-socket.ts';

const TEST_PAGE_PATH = '/api/v1/test/uploads/ui';

/** The sandbox page: paste a token, Open, watch outcomes arrive, Close. Rows are built with textContent (no HTML injection). */
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>rportd: live upload results</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 1.5rem; }
  input { width: 40rem; max-width: 90vw; }
  table { border-collapse: collapse; margin-top: 1rem; }
  th, td { border: 1px solid #ccc; padding: .25rem .5rem; text-align: left; font-size: .9rem; }
  .success { color: #176b1c; } .error { color: #b00020; } .ignored { color: #7a5b00; }
</style>
</head>
<body>
<h1>Live upload results</h1>
<p>Paste an access token (POST /api/v1/login), then Open. Every upload outcome you may see arrives below.</p>
<label>Token <input id="token" type="password" autocomplete="off"></label>
<button id="open">Open</button>
<button id="close" disabled>Close</button>
<p>Status: <span id="state">closed</span></p>
<table>
  <thead><tr><th>time</th><th>client_id</th><th>uuid</th><th>status</th><th>filepath</th><th>size</th><th>message</th></tr></thead>
  <tbody id="rows"></tbody>
</table>
<script>
  let ws;
  const $ = (id) => document.getElementById(id);
  const state = (s) => { $('state').textContent = s; $('open').disabled = s !== 'closed'; $('close').disabled = s === 'closed'; };
  $('open').onclick = () => {
    const token = $('token').value.trim();
    if (!token) { $('state').textContent = 'closed (paste a token first)'; return; }
    const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + ${JSON.stringify(UPLOADS_SOCKET_PATH)};
    ws = new WebSocket(url, ['bearer', token]);
    state('connecting');
    ws.onopen = () => state('open');
    ws.onclose = (e) => { state('closed'); if (e.code !== 1000 && e.code !== 1005) $('state').textContent = 'closed (' + e.code + (e.reason ? ' ' + e.reason : '') + ')'; };
    ws.onerror = () => { $('state').textContent = 'error: the server refused the connection (bad or expired token?)'; };
    ws.onmessage = (m) => {
      let o; try { o = JSON.parse(m.data); } catch { return; }
      const tr = document.createElement('tr');
      tr.className = String(o.status);
      for (const v of [new Date().toLocaleTimeString(), o.client_id, o.uuid, o.status, o.filepath, o.size, o.message]) {
        const td = document.createElement('td'); td.textContent = String(v ?? ''); tr.appendChild(td);
      }
      $('rows').prepend(tr);
    };
  };
  $('close').onclick = () => { if (ws) ws.close(1000); };
</script>
</body>
</html>
`;

export function testPageRoutes(router: Router, enabled: boolean): void {
  router.get(TEST_PAGE_PATH, async (ctx) => {
    if (!enabled)
      throw notFound(
        `${TEST_PAGE_PATH} is served only with enable_ws_test_endpoints = true in [server] of rportd.conf`,
      );
    ctx.type = 'text/html; charset=utf-8';
    ctx.set(
      'Content-Security-Policy',
      "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self' ws: wss:",
    );
    ctx.body = PAGE;
  });
}
