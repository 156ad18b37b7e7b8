import { randomBytes } from 'node:crypto';
import { Command, CommanderError, Option } from 'commander';
import { RportApiClient } from '../../adapters/rportcli-api/rport-api-client.ts';
import {
  resolveConnection,
  resolveServer,
  saveLogin,
  type Connection,
  type ConnectionFlags,
  type Server,
} from './config.ts';
import { CliError, EXIT_ERROR, EXIT_OK, explain, type ErrorContext } from './errors.ts';
import { collect, packageVersion, positiveNumber, withConnection } from './flags.ts';
import type { Say } from './follow.ts';
import { clientsTable, groupsTable } from './listings.ts';
import { formatTable, printJson, printLines, type CliIo } from './output.ts';
import { ask } from './prompt.ts';
import { runStatus } from './status.ts';
import { addRetryCommand } from './retry.ts';
import { runUpload, type UploadOptions } from './upload.ts';
import { addUserCommands } from './user-commands.ts';

interface CommonFlags extends ConnectionFlags {
  json?: boolean;
  verbose?: boolean;
}

const DEFAULT_TIMEOUT_S = 300;

/** rportcli: runs one command and returns the exit code (errors.ts and docs/cli.md list them). */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let exitCode = EXIT_OK;
  let ctx: ErrorContext | undefined;
  const sayer =
    (flags: CommonFlags): Say =>
    (line) => {
      if (flags.verbose) io.stderr.write(`rportcli: ${line}\n`);
    };
  const checked = (server: Server, flags: CommonFlags): Server => {
    if (server.tls.insecure)
      io.stderr.write(
        "rportcli: warning: --insecure: the server's TLS certificate is not checked; anyone on the way can pose as the server and read the credentials\n",
      );
    if (server.tls.ca && flags.verbose)
      sayer(flags)(`trusting the CA in ${flags.cacert ?? io.env.RPORT_API_CACERT}`);
    return server;
  };
  const connect = async (flags: CommonFlags): Promise<[RportApiClient, Connection]> => {
    const conn = await resolveConnection(flags, io.env);
    ctx = conn;
    checked(conn, flags);
    if (!conn.credentials) {
      throw new CliError(
        'no credentials: run `rportcli login`, or set RPORT_API_TOKEN, or RPORT_API_USER and RPORT_API_PASSWORD',
      );
    }
    sayer(flags)(
      `connecting to ${conn.url} (from ${conn.urlSource}), credentials from ${conn.credentialSource}`,
    );
    return [new RportApiClient(conn.url, conn.credentials, conn.tls), conn];
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
    // Only the server here: a user without a password is the prompt's job, not an error.
    const conn = checked(await resolveServer(flags, io.env), flags);
    ctx = { ...conn, credentialSource: 'login' };
    const username = flags.user ?? io.env.RPORT_API_USER ?? (await prompt(io, 'user: ', false, '--user'));
    const password =
      flags.password ??
      io.env.RPORT_API_PASSWORD ??
      (await prompt(io, `password for ${username}: `, true, '--password'));
    const token = await new RportApiClient(conn.url, undefined, conn.tls).login(username, password);
    const path = await saveLogin(io.env, { url: conn.url, token, username });
    if (flags.json) printJson(io, { url: conn.url, username, saved: path });
    else io.stdout.write(`logged in to ${conn.url} as ${username}; token saved in ${path}\n`);
  });

  const clients = program
    .command('clients')
    .description('list the known clients and whether they are connected');
  withConnection(clients).action(async (flags: CommonFlags) => {
    const [api] = await connect(flags);
    const list = await api.clients();
    if (flags.json) return printJson(io, list);
    printLines(io, clientsTable(list));
  });
  withConnection(
    clients
      .command('release-key')
      .description(
        "free a client id from its agent's key, e.g. after reinstalling the host: the next agent to register the id binds its own key (Administrators)",
      )
      .argument('<id>', 'client id'),
  ).action(async (id: string, flags: CommonFlags) => {
    const [api] = await connect(flags);
    await api.releaseClientKey(id);
    if (flags.json) return printJson(io, { id, released: true });
    io.stdout.write(`released the key of client ${id}: the next agent to register it binds its own key\n`);
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
      .option('--fail-on-ignored', 'exit 1 when a target ignored the push (its file differs)', false)
      .option(
        '--sync',
        'replace an existing file only when its content differs, and apply mode and owner',
        false,
      )
      .option('--check', 'change nothing: each client says what the upload would do', false)
      .option('--diff', "show a diff of each client's file against the new one, under its row", false)
      .option('--mode <octal>', 'file mode on Unix clients, e.g. 0644')
      .option('--user <name>', 'owner of the file on Unix clients')
      .option('--group <name>', 'group of the file on Unix clients (client groups are --group-id)')
      .option(
        '--offline-ttl <seconds>',
        'an offline client gets the file when it connects within this time (default: [server] offline_ttl)',
      )
      .option('--validate <name>', "run each client's validator of that name ([file-reception.validators])")
      .option('--backup', "keep a replaced file as <dest>.<timestamp>.bak (default: each client's setting)")
      .option('--no-backup', "keep no backup, whatever the client's [file-reception] backup says")
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
        check: flags.check,
        diff: flags.diff,
        offlineTtl: flags.offlineTtl,
        validate: flags.validate,
        backup: flags.backup,
        timeout: flags.timeout,
        json: flags.json ?? false,
        failOnIgnored: flags.failOnIgnored,
        say: sayer(flags),
      },
      io,
    );
  });

  withConnection(
    program
      .command('status')
      .description("show an upload's stored per-client outcomes (exit 3 while targets are pending)")
      .argument('<uuid>', 'the uuid the upload answered with')
      .option('-w, --wait', 'wait for every outcome, then exit as upload would', false)
      .option('--fail-on-ignored', 'exit 1 when a target ignored the push (its file differs)', false)
      .addOption(
        new Option('--timeout <seconds>', 'with --wait, how long to wait for the outcomes')
          .default(DEFAULT_TIMEOUT_S)
          .argParser(positiveNumber),
      ),
  ).action(async (uuid: string, flags: CommonFlags & StatusFlags) => {
    const [api] = await connect(flags);
    exitCode = await runStatus(
      api,
      {
        uuid,
        json: flags.json ?? false,
        wait: flags.wait,
        timeout: flags.timeout,
        failOnIgnored: flags.failOnIgnored,
        say: sayer(flags),
      },
      io,
    );
  });

  addRetryCommand(program, {
    io,
    connect,
    say: sayer,
    defaultTimeout: DEFAULT_TIMEOUT_S,
    exit: (code) => (exitCode = code),
  });
  addUserCommands(program, { io, connect });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT_OK : EXIT_ERROR;
    io.stderr.write(`rportcli: ${explain(e, ctx)}\n`);
    return EXIT_ERROR;
  }
}

interface UploadFlags extends Pick<UploadOptions, 'validate' | 'backup'> {
  client: string[];
  groupId: string[];
  dest?: string;
  force: boolean;
  sync: boolean;
  mode?: string;
  user?: string;
  group?: string;
  check: boolean;
  diff: boolean;
  offlineTtl?: string;
  timeout: number;
  failOnIgnored: boolean;
}

interface StatusFlags {
  wait: boolean;
  timeout: number;
  failOnIgnored: boolean;
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
