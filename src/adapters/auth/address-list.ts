/**
 * CIDR ranges (`[server] ban_exempt`) and the one spelling of a peer address used as a key, so
 * that "::ffff:10.1.2.3" (an IPv4 peer on a dual-stack socket) and "10.1.2.3" are one source.
 */
import { BlockList, isIP } from 'node:net';

interface Cidr {
  network: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** The address as a key: IPv4-mapped IPv6 becomes plain IPv4, IPv6 is lower-cased. */
export function sourceKey(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return mapped ? mapped[1] : address.toLowerCase();
}

/** "10.0.0.0/8", "fd00::/8", or a bare address (a range of one); undefined when it is not one. */
export function parseCidr(text: string): Cidr | undefined {
  const m = /^([^/\s]+)(?:\/(\d{1,3}))?$/.exec(text.trim());
  if (!m) return undefined;
  const version = isIP(m[1]);
  if (version === 0) return undefined;
  const family = version === 4 ? 'ipv4' : 'ipv6';
  const max = version === 4 ? 32 : 128;
  const prefix = m[2] === undefined ? max : Number(m[2]);
  return prefix <= max ? { network: m[1], prefix, family } : undefined;
}

/** Loopback, v4 and v6: exempt by default from the per-address caps of rportd's listeners. */
export const LOOPBACK_RANGES: readonly string[] = ['127.0.0.0/8', '::1/128'];

/** Addresses inside any of a list of CIDR ranges. */
export class AddressList {
  private readonly blocks = new BlockList();
  readonly empty: boolean;

  /** Throws on an entry that is not a CIDR range (rportd.conf validates them first, naming the key). */
  constructor(ranges: readonly string[] = []) {
    for (const text of ranges) {
      const c = parseCidr(text);
      if (!c) throw new Error(`not a CIDR range: ${JSON.stringify(text)}`);
      this.blocks.addSubnet(c.network, c.prefix, c.family);
    }
    this.empty = ranges.length === 0;
  }

  has(address: string): boolean {
    if (this.empty) return false;
    const key = sourceKey(address);
    const version = isIP(key);
    if (version === 0) return false;
    return this.blocks.check(key, version === 4 ? 'ipv4' : 'ipv6');
  }
}
