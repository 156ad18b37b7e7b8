/**
 * Telling two protocols apart on one port by the client's first byte: a TLS connection starts with
 * a handshake record (0x16, RFC 8446 5.1), an SSH client with "SSH-" (RFC 4253 4.2). Both clients
 * speak first, so the listener can wait for that byte without delaying either.
 */
import type { Duplex } from 'node:stream';

/** The content type of a TLS handshake record, which every ClientHello is sent in. */
export const TLS_HANDSHAKE_RECORD = 0x16;

/**
 * The first byte buffered on a paused stream, left in place (read, then put back with unshift, so
 * whoever takes the stream next reads every byte); undefined when nothing is buffered (the peer
 * closed without a byte).
 */
export function peekFirstByte(stream: Duplex): number | undefined {
  if (stream.readableLength === 0) return undefined;
  const chunk = stream.read() as Buffer | null;
  if (chunk === null || chunk.length === 0) return undefined;
  stream.unshift(chunk);
  return chunk[0];
}

/** True when the stream's first byte opens a TLS handshake. */
export const startsWithTls = (stream: Duplex): boolean => peekFirstByte(stream) === TLS_HANDSHAKE_RECORD;
