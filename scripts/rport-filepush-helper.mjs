#!/usr/bin/env node
/* global process, Buffer */
// rport-filepush-helper: the only command the rport agent may run through sudo (docs/sudoers.example).
// Installed root-owned; it trusts nothing in its arguments and re-checks every one as root:
//   chown -- USER:GROUP TEMP   chmod -- MODE TEMP   move -- TEMP DEST
// TEMP must be {data_dir}/filepush/<id>_rport_filepush, for one of the config's data_dir lines (one
// per agent on this host): a regular file with one link, in a directory owned by the calling user. DEST must sit beneath an `allow` root of the config and
// outside every protected path; it is reached without following any symlink. Self-contained on
// purpose (node: modules only) so that root runs nothing from the agent's tree.
import { execFileSync } from 'node:child_process';
import { constants as C, lstatSync, readFileSync, realpathSync } from 'node:fs';
import { lstat, mkdir, open, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';

const CONFIG = '/etc/rport/filepush-helper.conf';
const PROTECTED = [
  '/bin',
  '/sbin',
  '/boot',
  '/usr/bin',
  '/usr/sbin',
  '/dev',
  '/lib*',
  '/run',
  '/proc',
  '/sys',
  '/etc/sudoers*',
  '/etc/shadow*',
  '/etc/passwd*',
  '/etc/group*',
  '/etc/gshadow*',
  '/etc/rport',
];
const TEMP_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}_rport_filepush$/;
const ACCOUNT = /^(?:[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?|[0-9]{1,10})$/;
const DIR = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW;
const NEW_FILE = C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW;
const SPECIAL = 0o6000;
const DIR_MODE = 0o755;

class Refusal extends Error {}
const refuse = (message) => {
  throw new Refusal(message);
};
/** A fault of the config file: the admin fixes it there, so the message names the file and the key. */
class ConfigProblem extends Error {}

/** Everything wrong with reading the config, as a ConfigProblem naming the file. */
function loadConfig() {
  try {
    return readConfig();
  } catch (e) {
    throw new ConfigProblem(e.message.startsWith(CONFIG) ? e.message : `${CONFIG}: ${e.message}`);
  }
}

const DIR_HINTS = {
  data_dir:
    "set it to the agent's [client] data_dir from rport.conf (the agent creates it at its first start)",
  allow: 'create that directory (root-owned) or remove the line',
};

/** The real path of a directory the config names; a missing one names its key. */
function configDir(key, value) {
  let real;
  try {
    real = realpathSync(value);
  } catch (e) {
    refuse(`${CONFIG}: ${key} = ${value}: cannot use it (${e.message}); ${DIR_HINTS[key]}`);
  }
  if (!lstatSync(real).isDirectory())
    refuse(`${CONFIG}: ${key} = ${value}: not a directory; ${DIR_HINTS[key]}`);
  return real;
}

function readConfig() {
  let s;
  try {
    s = lstatSync(CONFIG);
  } catch {
    refuse(`${CONFIG} is missing; install it as shown in docs/security.md`);
  }
  if (!s.isFile() || s.uid !== 0 || (s.mode & 0o022) !== 0)
    refuse(`${CONFIG} must be a regular file owned by root and writable only by root`);
  const config = { dataDirs: [], allow: [], protect: [...PROTECTED], setuid: false };
  for (const raw of readFileSync(CONFIG, 'utf8').split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const m = /^([a-z_]+)\s*=\s*(.+)$/.exec(line);
    if (!m) refuse(`${CONFIG}: cannot read line "${line}"`);
    const [, key, value] = m;
    if (key === 'data_dir') config.dataDirs.push(configDir(key, value));
    else if (key === 'allow') config.allow.push(configDir(key, value));
    else if (key === 'protect') config.protect.push(value);
    else if (key === 'setuid') config.setuid = value === 'yes';
    else refuse(`${CONFIG}: unknown key "${key}"`);
  }
  if (config.dataDirs.length === 0) refuse(`${CONFIG}: data_dir is not set`);
  return config;
}

const normal = (p) =>
  typeof p === 'string' &&
  p.startsWith('/') &&
  !/[\0\n]/.test(p) &&
  p
    .split('/')
    .slice(1)
    .every((s) => s !== '' && s !== '.' && s !== '..');
const entry = (dir, name) => `/proc/self/fd/${dir.fd}/${name}`;

function globRegExp(pattern) {
  const body = pattern
    .replace(/\/+$/, '')
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]');
  return new RegExp(`^${body}$`);
}

function protectedBy(path, patterns) {
  const res = patterns.map((p) => [p, globRegExp(p)]);
  for (let cur = path; cur.length > 1; cur = cur.slice(0, cur.lastIndexOf('/')) || '/') {
    const hit = res.find(([, re]) => re.test(cur));
    if (hit) return hit[0];
  }
  return undefined;
}

/** Opens an absolute directory from "/" one name at a time, never through a link; creates missing ones below `createFrom`. */
async function openDir(path, createFrom) {
  let dir = await open('/', DIR);
  let walked = '';
  for (const name of path.split('/').filter(Boolean)) {
    walked += `/${name}`;
    let next;
    try {
      next = await open(entry(dir, name), DIR);
    } catch (e) {
      if (e.code === 'ENOENT' && createFrom !== undefined && walked.startsWith(`${createFrom}/`)) {
        await mkdir(entry(dir, name), { mode: DIR_MODE }).catch((m) =>
          m.code === 'EEXIST' ? undefined : Promise.reject(m),
        );
        next = await open(entry(dir, name), DIR).catch(() =>
          refuse(`${walked} changed while it was being created`),
        );
        await next.chmod(DIR_MODE);
      } else {
        await dir.close();
        if (e.code === 'ENOTDIR' || e.code === 'ELOOP')
          refuse(`${walked} is a symbolic link or not a directory; nothing is placed through a link`);
        throw e;
      }
    }
    await dir.close();
    dir = next;
  }
  return dir;
}

/** The caller's temp file, opened without following links, checked as one of ours. */
async function openTemp(config, tempPath, invoker, mustOwn) {
  const name = tempPath.slice(tempPath.lastIndexOf('/') + 1);
  const dataDir = config.dataDirs.find((d) => tempPath === `${d}/filepush/${name}`);
  if (!normal(tempPath) || dataDir === undefined || !TEMP_NAME.test(name)) {
    const shapes = config.dataDirs.map((d) => `${d}/filepush/<id>_rport_filepush`).join(' or ');
    refuse(`${tempPath} is not ${shapes}`);
  }
  const dir = await openDir(`${dataDir}/filepush`);
  const ds = await dir.stat();
  if (ds.uid !== invoker || (ds.mode & 0o022) !== 0)
    refuse(`${dataDir}/filepush must belong to the calling user and be writable only by it`);
  const file = await open(entry(dir, name), C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK).catch((e) =>
    e.code === 'ELOOP' ? refuse(`${tempPath} is a symbolic link`) : Promise.reject(e),
  );
  const s = await file.stat();
  if (!s.isFile()) refuse(`${tempPath} is not a regular file`);
  if (s.nlink !== 1)
    refuse(`${tempPath} has ${s.nlink} hard links; only a file written in place is accepted`);
  if (mustOwn && s.uid !== invoker) refuse(`${tempPath} does not belong to the calling user`);
  return { dir, file, name, stat: s };
}

function accountId(kind, name) {
  if (!ACCOUNT.test(name)) refuse(`${kind} "${name}" is not a plain account name`);
  try {
    const out = execFileSync('getent', [kind === 'user' ? 'passwd' : 'group', '--', name], {
      encoding: 'utf8',
    });
    return Number(out.split(':')[2]);
  } catch {
    if (/^[0-9]+$/.test(name)) return Number(name);
    refuse(`${kind} "${name}" does not exist`);
  }
}

async function chown(config, invoker, spec, tempPath) {
  const m = /^([^:]*):([^:]*)$/.exec(spec ?? '');
  if (!m || (m[1] === '' && m[2] === '')) refuse(`"${spec}" is not USER:GROUP`);
  const uid = m[1] === '' ? -1 : accountId('user', m[1]);
  const gid = m[2] === '' ? -1 : accountId('group', m[2]);
  const t = await openTemp(config, tempPath, invoker, true);
  const mode = t.stat.mode & 0o7777;
  await t.file.chown(uid, gid);
  // chown clears setuid/setgid; they come back only where the config allows them.
  if (mode & SPECIAL && config.setuid) await t.file.chmod(mode);
}

async function chmod(config, invoker, modeText, tempPath) {
  if (!/^0?[0-7]{3,4}$/.test(modeText ?? '')) refuse(`"${modeText}" is not an octal mode`);
  const mode = parseInt(modeText, 8);
  if (mode & SPECIAL && !config.setuid)
    refuse(`setuid/setgid through sudo is off (setuid = no in ${CONFIG})`);
  const t = await openTemp(config, tempPath, invoker, false);
  // Only the special bits may change here: permissions were set by the agent before the chown.
  if ((t.stat.mode & 0o777) !== (mode & 0o777))
    refuse(
      `chmod through sudo may only restore setuid/setgid bits, not change ${tempPath} from ${(t.stat.mode & 0o777).toString(8)} to ${(mode & 0o777).toString(8)}`,
    );
  await t.file.chmod(mode);
}

async function move(config, invoker, tempPath, dest) {
  if (!normal(dest)) refuse(`${dest} is not a normalised absolute path`);
  const root = config.allow.find((a) => dest.startsWith(`${a}/`));
  if (!root)
    refuse(`${dest} is not beneath an allow root of ${CONFIG} (${config.allow.join(', ') || 'none set'})`);
  const hit = protectedBy(dest, config.protect);
  if (hit) refuse(`${dest} is a protected path (matches "${hit}")`);
  const t = await openTemp(config, tempPath, invoker, false);
  if (t.stat.mode & SPECIAL && !config.setuid)
    refuse(`${tempPath} has setuid/setgid bits and setuid = no in ${CONFIG}`);
  const name = dest.slice(dest.lastIndexOf('/') + 1);
  const dir = await openDir(dest.slice(0, dest.lastIndexOf('/')), root);
  const existing = await lstat(entry(dir, name)).catch(() => undefined);
  if (existing && !existing.isFile()) refuse(`${dest} exists and is not a regular file`);
  // Copy the very inode that was checked (never a name the caller could swap), then rename it into place.
  const partial = `.${name}.${randomBytes(6).toString('hex')}.rport-partial`;
  const out = await open(entry(dir, partial), NEW_FILE, 0o600);
  try {
    const buffer = Buffer.allocUnsafe(256 * 1024);
    for (let pos = 0; ;) {
      const { bytesRead } = await t.file.read(buffer, 0, buffer.length, pos);
      if (bytesRead === 0) break;
      for (let off = 0; off < bytesRead;) off += (await out.write(buffer, off, bytesRead - off)).bytesWritten;
      pos += bytesRead;
    }
    await out.chown(t.stat.uid, t.stat.gid);
    await out.chmod(t.stat.mode & 0o7777);
    await out.sync();
    await out.close();
    await rename(entry(dir, partial), entry(dir, name));
  } catch (e) {
    await out.close().catch(() => undefined);
    await unlink(entry(dir, partial)).catch(() => undefined);
    throw e;
  }
  await dir.sync().catch(() => undefined);
  const now = await lstat(entry(t.dir, t.name)).catch(() => undefined);
  if (now && now.ino === t.stat.ino && now.dev === t.stat.dev) await unlink(entry(t.dir, t.name));
}

async function main(argv) {
  const [verb, dashes, a, b, ...extra] = argv;
  if (dashes !== '--' || a === undefined || b === undefined || extra.length > 0)
    refuse('usage: chown -- USER:GROUP TEMP | chmod -- MODE TEMP | move -- TEMP DEST');
  const invoker = Number(process.env.SUDO_UID ?? process.getuid());
  const config = loadConfig();
  if (verb === 'chown') return chown(config, invoker, a, b);
  if (verb === 'chmod') return chmod(config, invoker, a, b);
  if (verb === 'move') return move(config, invoker, a, b);
  refuse(`unknown operation "${verb}"`);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (e) => {
    // Exit 2: the config is at fault (as for rportd and rport); 3: refused; 1: failed.
    const [what, code] =
      e instanceof ConfigProblem
        ? ['config error', 2]
        : e instanceof Refusal
          ? ['refused', 3]
          : ['failed', 1];
    process.stderr.write(`rport-filepush-helper: ${what}: ${e.message}\n`);
    process.exit(code);
  },
);
