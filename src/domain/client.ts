type ClientOs = 'linux' | 'windows' | 'darwin' | string;

/** What a client announced about itself, and whether it is connected now. */
export interface ClientInfo {
  id: string;
  name: string;
  hostname: string;
  os: ClientOs;
  tags: string[];
  version: string;
  connected: boolean;
  fileReception: { enabled: boolean; protected: string[] };
}
