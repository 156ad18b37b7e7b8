import { UPLOADS_SOCKET_PATH } from './uploads-socket.ts';

/**
 * The test page's browser script, served inline and allowed by its sha256 in the page's CSP.
 * Server data only ever reaches the page through textContent, never as HTML.
 */
export const TEST_PAGE_SCRIPT = `
'use strict';
const $ = (id) => document.getElementById(id);
const KEY = 'rportd-test-page-token';
const SOCKET = ${JSON.stringify(UPLOADS_SOCKET_PATH)};
const FINAL = ['success', 'ignored', 'error'];
const uploads = new Map();
const rows = new Map();
let token = '';
let ws;

const say = (id, text) => { $(id).textContent = text; };
const list = (s) => s.split(/[\\s,]+/).filter((x) => x !== '');
const detailOf = (doc, res) => {
  const e = doc && Array.isArray(doc.errors) ? doc.errors[0] : undefined;
  return e ? String(e.detail || e.title || res.status) : 'HTTP ' + res.status;
};
const userOf = (t) => {
  try {
    const p = t.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return String(JSON.parse(atob(p)).sub || '?');
  } catch { return '?'; }
};

async function call(method, path, body) {
  const res = await fetch(path, { method, body, headers: { authorization: 'Bearer ' + token } });
  let doc;
  try { doc = await res.json(); } catch { doc = undefined; }
  // The token expired or its user is gone: back to the login form, saying why.
  if (res.status === 401) { logout(detailOf(doc, res) + ': log in again'); throw new Error(detailOf(doc, res)); }
  if (!res.ok) throw new Error(detailOf(doc, res));
  return doc.data;
}

function state(s) {
  say('state', s);
  $('open').disabled = s !== 'closed';
  $('close').disabled = s === 'closed';
}

async function enter(t) {
  token = t;
  let clients;
  try {
    clients = await call('GET', '/api/v1/clients');
  } catch (e) {
    if (token) { token = ''; say('login-error', String(e.message)); }
    return;
  }
  sessionStorage.setItem(KEY, t);
  say('login-error', '');
  say('who', userOf(t));
  say('known', clients.length === 0 ? 'none' : clients.map((c) => c.id + (c.connected ? '' : ' (offline)')).join(', '));
  $('login-view').hidden = true;
  $('main-view').hidden = false;
  open();
}

function logout(why) {
  token = '';
  sessionStorage.removeItem(KEY);
  if (ws) { ws.onclose = null; ws.close(1000); ws = undefined; }
  state('closed');
  $('main-view').hidden = true;
  $('login-view').hidden = false;
  say('login-error', why || '');
}

function open() {
  if (ws || !token) return;
  // progress=1: each pending row also gets a bar while its client fetches.
  const sock = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + SOCKET + '?progress=1', ['bearer', token]);
  ws = sock;
  state('connecting');
  sock.onopen = () => state('open');
  sock.onclose = (e) => {
    ws = undefined;
    state('closed');
    if (e.code === 1000 || e.code === 1005) return;
    say('state', 'closed (' + e.code + (e.reason ? ' ' + e.reason : '') + ')');
    // A browser hides why an upgrade failed; an expired token shows as a 401 here.
    call('GET', '/api/v1/clients').catch(() => undefined);
  };
  sock.onmessage = (m) => {
    let o;
    try { o = JSON.parse(m.data); } catch { return; }
    if (!o || typeof o.uuid !== 'string' || typeof o.client_id !== 'string') return;
    if (o.type === 'progress') fetched(o);
    else if (o.type === undefined) show(o.uuid, o.client_id, o);
    learn(o.uuid);
  };
}

/** How far a pending row's client has got: a bar in its message cell until its outcome. */
function fetched(p) {
  const size = Number(p.size);
  const bytes = Math.min(Number(p.bytes), size);
  if (!(size > 0) || !(bytes >= 0)) return;
  let r = rows.get(p.uuid + '\\n' + p.client_id);
  if (!r) { show(p.uuid, p.client_id, { status: 'pending', message: '' }); r = rows.get(p.uuid + '\\n' + p.client_id); }
  if (FINAL.includes(r.o.status)) return;
  r.fetched = { bytes, size };
  render(r);
}

/** One row per upload and client: pending until the client's outcome, which is final. */
function show(uuid, client, o) {
  const key = uuid + '\\n' + client;
  let r = rows.get(key);
  if (r && FINAL.includes(r.o.status)) return;
  if (!r) {
    const tr = document.createElement('tr');
    tr.dataset.uuid = uuid;
    tr.dataset.client = client;
    for (let i = 0; i < 8; i++) tr.appendChild(document.createElement('td'));
    r = { tr, o };
    rows.set(key, r);
    // Newest upload first; its targets in client order.
    const peers = [...$('rows').children].filter((x) => x.dataset.uuid === uuid);
    const next = peers.find((x) => x.dataset.client > client);
    if (next) next.before(tr);
    else if (peers.length > 0) peers[peers.length - 1].after(tr);
    else $('rows').prepend(tr);
  }
  r.o = o;
  r.at = new Date();
  render(r);
}

/** Outcomes that placed nothing carry no path or size (as in RPort): the upload's own fill them. */
function render(r) {
  const o = r.o;
  const u = uploads.get(r.tr.dataset.uuid) || {};
  const placed = typeof o.filepath === 'string' && o.filepath !== '';
  const pending = o.status === 'pending';
  const cells = [
    r.at.toLocaleTimeString(),
    r.tr.dataset.client,
    r.tr.dataset.uuid,
    o.status,
    placed ? o.filepath : u.dest,
    placed ? o.size : u.size,
    o.changed === true ? 'yes' : o.changed === false ? 'no' : '',
    pending && !o.message ? 'waiting for the client' : o.message,
  ];
  r.tr.className = String(o.status);
  cells.forEach((v, i) => { r.tr.cells[i].textContent = v === undefined || v === null ? '' : String(v); });
  if (pending && r.fetched) {
    const bar = document.createElement('progress');
    bar.max = r.fetched.size;
    bar.value = r.fetched.bytes;
    const percent = Math.floor((r.fetched.bytes * 100) / r.fetched.size) + '%';
    bar.textContent = percent;
    r.tr.cells[7].replaceChildren(bar, ' fetching: ' + percent);
  }
}

/** Asks once per upload for its destination, size and targets, so every target gets a row. */
function learn(uuid, known) {
  let u = uploads.get(uuid);
  if (!u) { u = {}; uploads.set(uuid, u); }
  if (known) { Object.assign(u, known); refresh(uuid); }
  if (u.asked) return;
  u.asked = true;
  call('GET', '/api/v1/files/' + encodeURIComponent(uuid)).then((d) => {
    if (u.dest === undefined) { u.dest = d.dest; u.size = d.size; }
    for (const t of Array.isArray(d.targets) ? d.targets : []) show(uuid, String(t.client_id), t);
    refresh(uuid);
  }, () => undefined); // another user's upload: its rows keep what their outcomes say
}

function refresh(uuid) {
  for (const r of rows.values()) if (r.tr.dataset.uuid === uuid) render(r);
}

$('login').onsubmit = async (ev) => {
  ev.preventDefault();
  say('login-error', 'logging in …');
  try {
    const res = await fetch('/api/v1/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: $('username').value, password: $('password').value }),
    });
    let doc;
    try { doc = await res.json(); } catch { doc = undefined; }
    if (!res.ok) return say('login-error', 'login refused: ' + detailOf(doc, res));
    $('password').value = '';
    await enter(doc.data.token);
  } catch (e) {
    say('login-error', 'login failed: ' + String(e.message));
  }
};
$('token-form').onsubmit = (ev) => {
  ev.preventDefault();
  const t = $('token').value.trim();
  if (!t) return say('login-error', 'paste a token first');
  $('token').value = '';
  enter(t);
};
$('upload').onsubmit = async (ev) => {
  ev.preventDefault();
  const file = $('file').files[0];
  if (!file) return say('upload-state', 'choose a file first');
  const form = new FormData();
  for (const id of list($('clients').value)) form.append('client_id', id);
  for (const id of list($('groups').value)) form.append('group_id', id);
  form.append('dest', $('dest').value.trim());
  if ($('mode').value.trim() !== '') form.append('mode', $('mode').value.trim());
  form.append('force', String($('force').checked));
  form.append('sync', String($('sync').checked));
  // The file goes last: rportd checks the fields before it reads a byte of it.
  form.append('upload', file, file.name);
  say('upload-state', 'uploading ' + file.name + ' …');
  $('send').disabled = true;
  try {
    const d = await call('POST', '/api/v1/files', form);
    say('upload-state', 'accepted as ' + d.uuid + '; the rows below follow each target');
    learn(d.uuid, { dest: d.filepath, size: d.size });
  } catch (e) {
    say('upload-state', 'refused: ' + String(e.message));
  } finally {
    $('send').disabled = false;
  }
};
$('open').onclick = open;
$('close').onclick = () => { if (ws) ws.close(1000); };
$('logout').onclick = () => logout('logged out');
const saved = sessionStorage.getItem(KEY);
if (saved) enter(saved);
`;
