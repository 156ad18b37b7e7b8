import { expect } from 'chai';
import { redactFields, redactText } from '../../../src/adapters/log/redact-secrets.ts';

describe('redactText: passwords inside URLs', () => {
  it('masks the password of a URL, keeps the user, host and database', () => {
    expect(redactText('PostgreSQL at postgres://rport:s3cr%2Fet@db.example:5432/rport: refused')).to.equal(
      'PostgreSQL at postgres://rport:[redacted]@db.example:5432/rport: refused',
    );
    expect(redactFields({ database: 'nats://u:pw@nats-1:4222, postgresql://a:b@h/d' })).to.deep.equal({
      database: 'nats://u:[redacted]@nats-1:4222, postgresql://a:[redacted]@h/d',
    });
  });

  it('leaves URLs without a password, and host:port, as they are', () => {
    for (const text of [
      'postgres://rport@db/rport',
      'http://127.0.0.1:3000/api/v1/files',
      'ssh to 10.0.0.1:22',
    ])
      expect(redactText(text)).to.equal(text);
  });
});
