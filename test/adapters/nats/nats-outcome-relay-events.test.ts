import { expect } from 'chai';
import {
  BadEventError,
  decodeEvent,
  encodeOutcome,
  encodeProgress,
  MAX_EVENT_BYTES,
} from '../../../src/adapters/nats/nats-outcome-relay-events.ts';
import type { PushOutcome } from '../../../src/domain/outcome.ts';

const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));
const o: PushOutcome = {
  client_id: 'web-1',
  uuid: 'u-1',
  filepath: '',
  size: 0,
  message: 'the destination is a directory',
  status: 'error',
  changed: false,
};

describe('cluster events on NATS: the wire format and its checks', () => {
  it('an outcome and a progress come back as they went, with the node and the uploader', () => {
    expect(decodeEvent(bytes(encodeOutcome('n1', 'alice', { ...o, diff: '' })))).to.deep.equal({
      node: 'n1',
      requestedBy: 'alice',
      outcome: { ...o, diff: '' },
    });
    const p = { uuid: 'u-1', client_id: 'web-1', bytes: 3 << 20, size: 4 << 20 };
    expect(decodeEvent(bytes(encodeProgress('n1', '', p)))).to.deep.equal({
      node: 'n1',
      requestedBy: '',
      progress: p,
    });
  });

  it('refuses an oversized message before parsing it, and names what is wrong in others', () => {
    const big = new Uint8Array(MAX_EVENT_BYTES + 1).fill(0x20);
    expect(() => decodeEvent(big)).to.throw(
      BadEventError,
      `${MAX_EVENT_BYTES + 1} bytes, over ${MAX_EVENT_BYTES}`,
    );
    const event = JSON.parse(encodeOutcome('n1', 'alice', o)) as Record<string, unknown>;
    const cases: [unknown, string][] = [
      [{ ...event, outcome: { ...o, uuid: '' } }, 'outcome.uuid is not a non-empty string'],
      [{ ...event, outcome: { ...o, size: 1.5 } }, 'outcome.size is not a non-negative integer'],
      [{ ...event, outcome: { ...o, backup: 3 } }, 'outcome.backup is not a non-empty string'],
      [{ ...event, outcome: null }, 'outcome is not an object'],
      [{ ...event, progress: {} }, 'neither or both'],
      [
        { v: 1, node: 'n', requested_by: '', progress: { uuid: 'u', client_id: 'c', bytes: 5, size: 4 } },
        'progress.bytes is over progress.size',
      ],
      [
        { v: 1, node: 'n', requested_by: '', progress: { uuid: 'u', client_id: 'c', bytes: 1, size: 1000 } },
        'too small to report progress',
      ],
    ];
    for (const [value, why] of cases)
      expect(() => decodeEvent(bytes(JSON.stringify(value))), why).to.throw(BadEventError, why);
  });
});
