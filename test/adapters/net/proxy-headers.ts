/** PROXY protocol v2 headers built byte by byte, for the parser's and the listeners' tests. */
const SIG = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

/** A v2 header: command (0 LOCAL, 1 PROXY), family/transport byte, address block and extra bytes (TLVs). */
export function v2(command: number, famTrans: number, block: Buffer, extra = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(4);
  head[0] = 0x20 | command;
  head[1] = famTrans;
  head.writeUInt16BE(block.length + extra.length, 2);
  return Buffer.concat([SIG, head, block, extra]);
}

export function v2Tcp4(src: string, sport: number, dst = '10.0.0.1', dport = 2222): Buffer {
  const block = Buffer.alloc(12);
  src.split('.').forEach((o, i) => (block[i] = Number(o)));
  dst.split('.').forEach((o, i) => (block[4 + i] = Number(o)));
  block.writeUInt16BE(sport, 8);
  block.writeUInt16BE(dport, 10);
  return v2(1, 0x11, block);
}
