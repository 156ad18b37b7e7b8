/** Raw TLS peers of the SSH port, for the same-port tests. */
import { connect as netConnect } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';

/** A TLS connection to the SSH port from localAddress that finishes its handshake and then says nothing. */
export function tlsHolder(port: number, localAddress = '127.0.0.1'): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const tcp = netConnect({ host: '127.0.0.1', port, localAddress });
    tcp.on('error', () => undefined);
    const s = connect({ socket: tcp, rejectUnauthorized: false });
    s.once('secureConnect', () => {
      s.off('error', reject);
      s.on('error', () => undefined);
      resolve(s);
    });
    s.once('error', reject);
  });
}
