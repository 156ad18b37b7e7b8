/**
 * The PROXY protocol header (versions 1 and 2, HAProxy's proxy-protocol.txt) that a load balancer
 * in TCP mode puts before a connection's own bytes to tell the real peer's address. Only the
 * parsing lives here; who is trusted to send one, and the deadline, are in proxy-protocol-gate.ts.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** A v1 line is at most 107 bytes, CRLF included (the specification's own bound). */
export const V1_MAX_BYTES = 107;
/**
 * A v2 header's bound: 16 fixed bytes, the largest address block (216, AF_UNIX) and room for a few
 * TLVs. HAProxy sends no TLV unless told to; a longer header is refused rather than buffered.
 */
export const V2_MAX_BYTES = 16 + 512;

const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

export interface ProxySource {
  address: string;
  port: number;
}

export type ProxyHeaderParse =
  | { kind: 'incomplete' }
  /** length: the header's bytes, to drop; source: undefined when the header names none (LOCAL, UNKNOWN, UNSPEC, AF_UNIX). */
  | { kind: 'header'; version: 1 | 2; length: number; source?: ProxySource }
  | { kind: 'invalid'; reason: string };

const INCOMPLETE: ProxyHeaderParse = { kind: 'incomplete' };
const invalid = (reason: string): ProxyHeaderParse => ({ kind: 'invalid', reason });

/**
 * Reads the header at the start of buf (the bytes received so far). "incomplete" means more bytes
 * are needed and fewer than the bound were seen; anything else is final.
 */
export function parseProxyHeader(buf: Buffer): ProxyHeaderParse {
  if (startsWith(buf, V2_SIGNATURE)) return buf.length < V2_SIGNATURE.length ? INCOMPLETE : parseV2(buf);
  if (startsWith(buf, V1_PREFIX)) return buf.length < V1_PREFIX.length ? INCOMPLETE : parseV1(buf);
  return invalid(`no PROXY header: the connection starts with ${shown(buf.subarray(0, 16))}`);
}

/** True when buf and prefix agree on their common length (a short buf may still become either). */
function startsWith(buf: Buffer, prefix: Buffer): boolean {
  const n = Math.min(buf.length, prefix.length);
  return buf.subarray(0, n).equals(prefix.subarray(0, n));
}

function parseV1(buf: Buffer): ProxyHeaderParse {
  const window = buf.subarray(0, V1_MAX_BYTES);
  const end = window.indexOf('\r\n', 0, 'latin1');
  if (end < 0) {
    const stray = window.findIndex((b) => b < 0x20 && b !== 0x0d);
    if (stray >= 0) return invalid(`v1 header holds the byte 0x${hex(window[stray])}`);
    return buf.length >= V1_MAX_BYTES ? invalid(`v1 header longer than ${V1_MAX_BYTES} bytes`) : INCOMPLETE;
  }
  const bad = window.subarray(0, end).findIndex((b) => b < 0x20 || b > 0x7e);
  if (bad >= 0) return invalid(`v1 header holds the byte 0x${hex(window[bad])}`);
  const line = window.toString('latin1', 0, end);
  const length = end + 2;
  const parts = line.split(' ');
  if (parts[1] === 'UNKNOWN') return { kind: 'header', version: 1, length };
  if (parts.length !== 6)
    return invalid(`v1 header must be "PROXY TCP4|TCP6 src dst sport dport", got ${JSON.stringify(line)}`);
  const [, proto, src, dst, sport, dport] = parts;
  const check = proto === 'TCP4' ? isIPv4 : proto === 'TCP6' ? isIPv6 : undefined;
  if (!check) return invalid(`v1 header names the protocol ${JSON.stringify(proto)}; TCP4, TCP6 or UNKNOWN`);
  for (const [what, a] of [
    ['source', src],
    ['destination', dst],
  ] as const) {
    if (!check(a)) return invalid(`v1 ${what} address ${JSON.stringify(a)} is not an ${proto} address`);
  }
  const port = portOf(sport);
  if (port === undefined || portOf(dport) === undefined)
    return invalid(`v1 ports must be 0 to 65535 without leading zeros, got ${sport} and ${dport}`);
  return { kind: 'header', version: 1, length, source: { address: src, port } };
}

function portOf(text: string): number | undefined {
  if (!/^(0|[1-9][0-9]{0,4})$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 65535 ? n : undefined;
}

/** Address block sizes by family (high nibble of byte 13): AF_UNSPEC, AF_INET, AF_INET6, AF_UNIX. */
const BLOCK = [0, 12, 36, 216];

function parseV2(buf: Buffer): ProxyHeaderParse {
  if (buf.length < 16) return INCOMPLETE;
  const verCmd = buf[12];
  if (verCmd >> 4 !== 2) return invalid(`v2 header has version ${verCmd >> 4}; only 2 exists`);
  const command = verCmd & 0x0f;
  if (command > 1) return invalid(`v2 header has the command ${command}; LOCAL (0) or PROXY (1)`);
  const family = buf[13] >> 4;
  const transport = buf[13] & 0x0f;
  const body = buf.readUInt16BE(14);
  const length = 16 + body;
  if (length > V2_MAX_BYTES) return invalid(`v2 header of ${length} bytes; at most ${V2_MAX_BYTES}`);
  if (family > 3) return invalid(`v2 header has the address family ${family}`);
  if (transport > 2) return invalid(`v2 header has the transport ${transport}`);
  if (body < BLOCK[family]) return invalid(`v2 header too short (${body} bytes) for its address family`);
  if (buf.length < length) return INCOMPLETE;
  // LOCAL: the proxy's own connection (a health check); the socket's address is the real one.
  if (command === 0) return { kind: 'header', version: 2, length };
  if (transport === 2) return invalid('v2 header is for a datagram (UDP) connection; this is a stream');
  if (family === 0 || family === 3) return { kind: 'header', version: 2, length };
  if (transport !== 1) return invalid('v2 header names no transport for a PROXY connection');
  const source =
    family === 1
      ? { address: [...buf.subarray(16, 20)].join('.'), port: buf.readUInt16BE(24) }
      : { address: ipv6Of(buf.subarray(16, 32)), port: buf.readUInt16BE(48) };
  return { kind: 'header', version: 2, length, source };
}

/** 16 bytes as IPv6 text, shortest form (RFC 5952), with an IPv4-mapped address dotted. */
export function ipv6Of(b: Buffer): string {
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff)
    return `::ffff:${[...b.subarray(12, 16)].join('.')}`;
  const groups = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2));
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  const text = groups.map((g) => g.toString(16));
  if (best.len < 2) return text.join(':');
  return `${text.slice(0, best.at).join(':')}::${text.slice(best.at + best.len).join(':')}`;
}

function hex(b: number): string {
  return b.toString(16).padStart(2, '0');
}

function shown(b: Buffer): string {
  return JSON.stringify(b.toString('latin1').replace(/[^\x20-\x7e]/g, '.'));
}
