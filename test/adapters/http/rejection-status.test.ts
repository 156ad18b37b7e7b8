import { expect } from 'chai';
import { answerOfRejection, STATUS_OF_REJECTION } from '../../../src/adapters/http/rejection-status.ts';

describe('the HTTP status of a refused upload', () => {
  it('bad fields, bad destinations and malformed bodies 400, too large 413, unknown targets 404, forbidden targets 403, a used id 409', () => {
    expect(STATUS_OF_REJECTION).to.deep.equal({
      invalid: 400,
      malformed: 400,
      'too-large': 413,
      'not-found': 404,
      forbidden: 403,
      'bad-destination': 400,
      conflict: 409,
    });
  });
  it("access and destination refusals carry openrport's codes and titles; the others keep ours", () => {
    expect(answerOfRejection('forbidden')).to.deep.equal({
      status: 403,
      code: 'ACCESS_CONTROL_VIOLATION',
      title: 'upload forbidden',
    });
    expect(answerOfRejection('bad-destination')).to.deep.equal({
      status: 400,
      code: 'BAD_DESTINATION',
      title: 'upload denied',
    });
    expect(answerOfRejection('invalid')).to.deep.equal({
      status: 400,
      code: 'invalid',
      title: 'Bad Request',
    });
    expect(answerOfRejection('conflict')).to.deep.equal({ status: 409, code: 'conflict', title: 'Conflict' });
  });
});
