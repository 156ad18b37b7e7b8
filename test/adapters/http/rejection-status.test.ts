import { expect } from 'chai';
import { STATUS_OF_REJECTION } from '../../../src/adapters/http/rejection-status.ts';

describe('the HTTP status of a refused upload', () => {
  it('bad fields and malformed bodies 400, too large 413, unknown targets 404, forbidden targets 403', () => {
    expect(STATUS_OF_REJECTION).to.deep.equal({
      invalid: 400,
      malformed: 400,
      'too-large': 413,
      'not-found': 404,
      forbidden: 403,
    });
  });
});
