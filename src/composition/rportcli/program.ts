import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import type {
  ClientGroupSummary,
  ClientSummary,
  UploadStatus,
} from '../../adapters/rportcli-api/api-types.ts';
import { RportApiClient } from '../../adapters/rportcli-api/rport-api-client.ts';
import { resolveConnection, saveLogin, type Connection, type ConnectionFlags } from './config.ts';
import { CliError, EXIT_ERROR, EXIT_OK, EXIT_TARGET_FAILED, explain, type ErrorContext } from './errors.ts';
import { formatTable, printJson, printLines, type CliIo } from './output.ts';
import { ask } from './prompt.ts';
import { runUpload } from './upload.ts';

interface CommonFlags extends ConnectionFlags {
  json?: boolean;
}

const DEFAULT_TIMEOUT_S = 300;

/** rportcli: runs one command and returns the exit code (0 ok, 1 a target failed or timed out, 2 the command failed). */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let exitCode = EXIT_OK;
  let ctx: ErrorContext | undefined;
  const connect = async (flags: CommonFlags): Promise<[RportApiClient, Connection]> => {
    const conn = await resolveConnection(flags, io.env);
    ctx = conn;
    if (!conn.credentials) {
      throw new CliError(
        'no credentials: run `rportcli login`, or set RPORT_API_TOKEN, or RPORT_API_USER and RPORT_API_PASSWORD',
      );
    }
    return [new RportApiClient(conn.url, conn.credentials), conn];
  };

  const program = new Command('rportcli')
    .description("rport's admin command line: push a file to many clients and watch each client's outcome")
    .version(packageVersion())
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError('(run `rportcli help` for the commands)');

  withConnection(
    program
      .command('login')
      .description('log in and save the token in $XDG_CONFIG_HOME/rportcli/login.json (mode 0600)')
      .option('-u, --user <name>', 'API user (default: $RPORT_API_USER, else asked)')
      .option('-p, --password <password>', 'API password (default: $RPORT_API_PASSWORD, else asked)'),
    false,
  ).action(async (flags: CommonFlags & { user?: string; password?: string }) => {
    const conn = await resolveConnection({ url: flags.url }, io.env);
    ctx = { ...conn, credentialSource: 'login' };
    const username = flags.user ?? io.env.RPORT_API_USER ?? (await prompt(io, 'user: ', false, '--user'));
    const password =
      flags.password ??
      io.env.RPORT_API_PASSWORD ??
      (await prompt(io, `password for ${username}: `, true, '--password'));
    const token = await new RportApiClient(conn.url, undefined).login(username, password);
    const path = await saveLogin(io.env, { url: conn.url, token, username });
    if (flags.json) printJson(io, { url: conn.url, username, saved: path });
    else io.stdout.write(`logged in to ${conn.url} as ${username}; token saved in ${path}\n`);
  });

  withConnection(
    program.command('clients').description('list the known clients and whether they are connected'),
  ).action(async (flags: CommonFlags) => {
    const [api] = await connect(flags);
    const clients = await api.clients();
    if (flags.json) return printJson(io, clients);
    printLines(io, clientsTable(clients));
  });

  withConnection(program.command('groups').description('list the client groups')).action(
    async (flags: CommonFlags) => {
      const [api] = await connect(flags);
      const groups = await api.groups();
      if (flags.json) return printJson(io, groups);
      printLines(io, groupsTable(groups));
    },
  );

  const credentials = program
    .command('clients-auth')
    .description(
      "manage the credentials agents log in with (Administrators; credentials kept in rportd's database)",
    );
  withConnection(credentials.command('list').description('list the client credential ids')).action(
    async (flags: CommonFlags) => {
      const [api] = await connect(flags);
      const list = await api.clientCredentials();
      if (flags.json) return printJson(io, list);
      if (list.source !== 'database')
        return printLines(io, [
          'client credentials come from rportd.conf ([server] auth or auth_file); they are listed there',
        ]);
      printLines(
        io,
        list.ids.length === 0
          ? ['no client credentials yet: add one with `rportcli clients-auth add <id>`']
          : formatTable(
              ['ID'],
              list.ids.map((id) => [id]),
            ),
      );
    },
  );
  withConnection(
    credentials
      .command('add')
      .description('add a credential; without --password a random one is made and printed once')
      .argument('<id>', 'credential id: letters, digits, . _ @ - (several agents may share one)')
      .option('--password <password>', 'at least 12 characters (default: 24 random characters)'),
  ).action(async (id: string, flags: CommonFlags & { password?: string }) => {
    const [api] = await connect(flags);
    const password = flags.password ?? randomBytes(18).toString('base64url');
    await api.addClientCredential(id, password);
    if (flags.json) return printJson(io, { id, password: flags.password ? undefined : password });
    io.stdout.write(`added client credential ${id}
`);
    if (!flags.password)
      io.stdout.write(`its password (shown only now): ${password}
in each agent's rport.conf: auth = "${id}:${password}"
`);
  });
  withConnection(
    credentials
      .command('delete')
      .description('remove a credential: later logins with it are refused')
      .argument('<id>', 'credential id'),
  ).action(async (id: string, flags: CommonFlags) => {
    const [api] = await connect(flags);
    await api.removeClientCredential(id);
    if (flags.json) return printJson(io, { id, removed: true });
    io.stdout.write(`removed client credential ${id}
`);
  });

  withConnection(
    program
      .command('upload')
      .description('send a file to clients and show each outcome as it arrives')
      .argument('<file>', 'the local file to send (streamed, never read whole into memory)')
      .option('-c, --client <id>', 'target client id; repeat, or separate with commas', collect, [])
      .option('-g, --group-id <id>', 'target client group id; repeat, or separate with commas', collect, [])
      .option('-d, --dest <path>', 'absolute path of the file on the clients')
      .option('--force', 'overwrite an existing file', false)
      .option(
        '--sync',
        'replace an existing file only when its content differs, and apply mode and owner',
        false,
      )
      .option('--mode <octal>', 'file mode on Unix clients, e.g. 0644')
      .option('--user <name>', 'owner of the file on Unix clients')
      .option('--group <name>', 'group of the file on Unix clients (client groups are --group-id)')
      .addOption(
        new Option('--timeout <seconds>', 'how long to wait for the outcomes once the file is on the server')
          .default(DEFAULT_TIMEOUT_S)
          .argParser(positiveNumber),
      ),
  ).action(async (file: string, flags: CommonFlags & UploadFlags) => {
    const [api] = await connect(flags);
    exitCode = await runUpload(
      api,
      {
        file,
        clientIds: flags.client,
        groupIds: flags.groupId,
        dest: flags.dest,
        force: flags.force,
        sync: flags.sync,
        mode: flags.mode,
        user: flags.user,
        group: flags.group,
        timeout: flags.timeout,
        json: flags.json ?? false,
      },
      io,
    );
  });

  withConnection(
    program
      .command('status')
      .description("show an upload's stored per-client outcomes")
      .argument('<uuid>', 'the uuid the upload answered with'),
  ).action(async (uuid: string, flags: CommonFlags) => {
    const [api] = await connect(flags);
    const status = await api.status(uuid);
    if (flags.json) printJson(io, status);
    else printLines(io, statusLines(status));
    if (status.targets.some((t) => t.status === 'error')) exitCode = EXIT_TARGET_FAILED;
  });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT_OK : EXIT_ERROR;
    io.stderr.write(`rportcli: ${explain(e, ctx)}\n`);
    return EXIT_ERROR;
  }
}

interface UploadFlags {
  client: string[];
  groupId: string[];
  dest?: string;
  force: boolean;
  sync: boolean;
  mode?: string;
  user?: string;
  group?: string;
  timeout: number;
}

/** src/composition and dist/composition are both two levels below package.json. */
function packageVersion(): string {
  try {
    return (
      JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
        version: string;
      }
    ).version;
  } catch {
    return 'unknown';
  }
}

function withConnection(cmd: Command, credentials = true): Command {
  cmd.option(
    '--url <url>',
    'rportd API URL (default: $RPORT_API_URL, the saved login, or http://127.0.0.1:3000)',
  );
  if (credentials) {
    cmd
      .option('--token <token>', 'API token (default: $RPORT_API_TOKEN or the saved login)')
      .option('--api-user <name>', 'API user, with --api-password (default: $RPORT_API_USER)')
      .option('--api-password <password>', 'API password (default: $RPORT_API_PASSWORD)');
  }
  return cmd.option('--json', 'print machine-readable JSON on stdout', false);
}

const collect = (value: string, previous: string[]): string[] => [
  ...previous,
  ...value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== ''),
];

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new CliError(`--timeout "${value}" is not a positive number of seconds`);
  return n;
}

async function prompt(io: CliIo, question: string, hidden: boolean, flag: string): Promise<string> {
  if (!io.stdin.isTTY) {
    throw new CliError(
      `no credentials: give ${flag} or set RPORT_API_USER and RPORT_API_PASSWORD (stdin is not a terminal to ask on)`,
    );
  }
  const answer = await ask(io, question, hidden);
  if (answer === '') throw new CliError(`no ${flag.slice(2)} given`);
  return answer;
}

function clientsTable(clients: ClientSummary[]): string[] {
  if (clients.length === 0) return ['no clients are known yet'];
  return formatTable(
    ['ID', 'NAME', 'HOSTNAME', 'OS', 'CONNECTED', 'TAGS'],
    clients.map((c) => [
      c.id,
      c.name ?? '',
      c.hostname ?? '',
      c.os ?? '',
      c.connected ? 'yes' : 'no',
      (c.tags ?? []).join(','),
    ]),
  );
}

function groupsTable(groups: ClientGroupSummary[]): string[] {
  if (groups.length === 0) return ['no client groups'];
  const params = (g: ClientGroupSummary): string =>
    Object.entries(g.params ?? {})
      .filter(([, v]) => Array.isArray(v) && v.length > 0)
      .map(([k, v]) => `${k}=${(v as string[]).join('|')}`)
      .join(' ');
  return formatTable(
    ['ID', 'DESCRIPTION', 'ALLOWED USER GROUPS', 'SELECTS'],
    groups.map((g) => [g.id, g.description ?? '', (g.allowed_user_groups ?? []).join(','), params(g)]),
  );
}

function statusLines(s: UploadStatus): string[] {
  const head = Object.entries(s.upload)
    .filter(
      ([, v]) =>
        v !== null && v !== undefined && (typeof v !== 'object' || (Array.isArray(v) && v.length > 0)),
    )
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : String(v)}`);
  return [
    ...head,
    '',
    ...formatTable(
      ['CLIENT', 'STATUS', 'MESSAGE'],
      s.targets.map((t) => [t.client_id, t.status, t.message]),
    ),
  ];
}
