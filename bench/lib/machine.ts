import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { cpus, totalmem, release, platform } from 'node:os';

export interface Machine {
  cpus: string;
  memory: string;
  os: string;
  node: string;
  ssh2: string;
  ssh2Binding: boolean;
  openssh: string;
  curl: string;
}

const require = createRequire(import.meta.url);

function firstLine(cmd: string, args: string[]): string {
  // ssh -V prints on stderr.
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) return `not available (${(r.error as NodeJS.ErrnoException).code ?? r.error.message})`;
  return `${r.stdout}\n${r.stderr}`.trim().split('\n')[0].trim();
}

export function describeMachine(): Machine {
  const list = cpus();
  const { bindingAvailable } = require('ssh2/lib/protocol/crypto') as { bindingAvailable: boolean };
  const ssh2Version = (require('ssh2/package.json') as { version: string }).version;
  return {
    cpus: `${list.length} x ${list[0]?.model.trim() ?? 'unknown'}`,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    os: `${platform()} ${release()}`,
    node: process.version,
    ssh2: ssh2Version,
    ssh2Binding: bindingAvailable,
    openssh: firstLine('ssh', ['-V']),
    curl: firstLine('curl', ['--version']),
  };
}

export function machineMarkdown(m: Machine): string {
  return [
    `- CPUs: ${m.cpus}`,
    `- Memory: ${m.memory}`,
    `- OS: ${m.os}`,
    `- Node: ${m.node}`,
    `- ssh2: ${m.ssh2}, native crypto binding (\`bindingAvailable\`): ${m.ssh2Binding ? 'yes' : '**NO** (transfers 4-5x slower)'}`,
    `- OpenSSH: ${m.openssh}`,
    `- curl: ${m.curl.split(' ').slice(0, 2).join(' ')}`,
  ].join('\n');
}
