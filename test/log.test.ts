import { Writable } from 'node:stream';
import { createLogger } from '../src/log';

describe('logger redaction', () => {
  it('never writes keys, passwords, signatures, card numbers or e-mails in clear', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger('info', sink);
    logger.info({ shop: { testKey: 'K-SECRET-1', productionPassword: 'prodpassword_SECRET2' }, fields: { signature: 'SIG-SECRET-3', vads_card_number: '4970100000000055', vads_cust_email: 'a@b.example', 'kr-hash': 'HASH-SECRET-4' } }, 'x');
    logger.info({ req: { headers: { authorization: 'Bearer TOKEN-SECRET-5' } } }, 'y');
    const text = lines.join('');
    for (const secret of ['K-SECRET-1', 'prodpassword_SECRET2', 'SIG-SECRET-3', '4970100000000055', 'a@b.example', 'HASH-SECRET-4', 'TOKEN-SECRET-5']) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('[redacted]');
  });
});
