import type { ClientConfig } from '../../src/adapters/config/agent-config.ts';
import { DEFAULT_PROTECTED_POSIX } from '../../src/domain/protected-paths.ts';

/** Where and how a bench agent logs in; the file-work role has none and gets placeholders. */
export interface AgentLink {
  server: string;
  fingerprint: string;
  credentialId: string;
  password: string;
}

const NO_LINK: AgentLink = {
  server: '127.0.0.1:1',
  fingerprint: 'unused',
  credentialId: 'unused',
  password: 'unused',
};

/** A bench agent's rport.conf, as parsed: the defaults of [file-reception], md5 on the agent's own thread. */
export function benchAgentConfig(id: string, dataDir: string, link: AgentLink = NO_LINK): ClientConfig {
  const { server, ...login } = link;
  return {
    ...login,
    servers: [server],
    id,
    name: id,
    tags: ['bench'],
    dataDir,
    hashThread: false,
    fileReception: {
      enabled: true,
      protected: DEFAULT_PROTECTED_POSIX,
      backup: false,
      allowSpecialBits: false,
    },
  };
}
