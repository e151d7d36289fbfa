import fc from 'fast-check';
import vectors from '../../fixtures/vectors.json';
import {
  classifyCode,
  DirectAnswerError,
  DirectQuestionError,
  echoMismatch,
  formatDateq,
  nodeHmacSha512,
  parseDirectAnswer,
  questionFields,
  signQuestion,
  writeHappened,
  type DirectQuestion,
  type DirectSite,
} from '../../../src/providers/paybox/direct';

const vector = vectors.paybox_direct;
const SITE: DirectSite = { site: vector.question.site, rang: vector.question.rang, version: '00104', hmacKeyHex: vector.key_hex };
const INQUIRY: DirectQuestion = {
  operation: 'inquiry',
  questionNumber: vector.question.question_number,
  at: new Date(vector.question.dateq_utc),
  transactionNumber: vector.question.transaction_number,
  callNumber: vector.question.call_number,
};
const CAPTURE: DirectQuestion = { ...INQUIRY, operation: 'capture', amount: 1500, currencyNumeric: '978', reference: 'CMD-42' };

describe('Paybox Direct questions', () => {
  it('signs the vector: the fields in the order sent, HASH included, HMAC-SHA-512 with the binary key, uppercase', () => {
    const question = signQuestion(SITE, INQUIRY);
    expect(question.body).toBe(`${vector.signed}&HMAC=${vector.hmac}`);
    expect(question.fields.at(-1)).toEqual(['HMAC', vector.hmac]);
  });

  it("computes HMAC-SHA-512 as RFC 4231 test case 2 gives it (key 'Jefe')", () => {
    const jefe = Buffer.from('Jefe').toString('hex');
    expect(nodeHmacSha512(jefe, Buffer.from('what do ya want for nothing?'))).toBe(
      '164B7A7BFCF819E2E395FBE73B56E0A387BD64222E831FD610270CD7EA2505549758BF75C05A994A6D034F65F8F0E6FDCAEAB1A34D4A6B4B636E070A38BCE737',
    );
  });

  it('writes DATEQ in Paris time, winter and summer', () => {
    expect(formatDateq(new Date('2025-03-05T13:30:00Z'))).toBe('05032025143000');
    expect(formatDateq(new Date('2025-07-01T22:30:05Z'))).toBe('02072025003005');
  });

  it('a capture carries the amount on 10 digits, the numeric currency and the reference, before the numbers', () => {
    expect(questionFields(SITE, CAPTURE).map(([name]) => name)).toEqual(['VERSION', 'TYPE', 'SITE', 'RANG', 'NUMQUESTION', 'DATEQ', 'MONTANT', 'DEVISE', 'REFERENCE', 'NUMTRANS', 'NUMAPPEL', 'HASH']);
    expect(new Map(questionFields(SITE, CAPTURE)).get('MONTANT')).toBe('0000001500');
    expect(new Map(questionFields(SITE, { ...CAPTURE, operation: 'refund' })).get('TYPE')).toBe('00014');
    expect(new Map(questionFields({ ...SITE, version: '00103' }, { ...CAPTURE, operation: 'cancel' })).get('TYPE')).toBe('00005');
  });

  it.each([
    ['a question number out of range', { ...CAPTURE, questionNumber: 2_147_483_648 }, /NUMQUESTION/],
    ['a question number of zero', { ...CAPTURE, questionNumber: 0 }, /NUMQUESTION/],
    ['no amount', { ...CAPTURE, amount: undefined }, /amount/],
    ['a fractional amount', { ...CAPTURE, amount: 10.5 }, /amount/],
    ['an alphabetic currency', { ...CAPTURE, currencyNumeric: 'EUR' }, /currency/],
    ['a reference out of ASCII', { ...CAPTURE, reference: 'CMD-é' }, /reference/],
    ['a transaction number that is not digits', { ...CAPTURE, transactionNumber: '12a' }, /transaction/],
  ])('refuses %s, before anything is signed', (_, question, message) => {
    expect(() => signQuestion(SITE, question as DirectQuestion)).toThrow(DirectQuestionError);
    expect(() => signQuestion(SITE, question as DirectQuestion)).toThrow(message);
  });

  it('the body decodes back to the fields signed, whatever the reference (property)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[\x20-\x7e]{1,250}$/), fc.integer({ min: 1, max: 9_999_999_999 }), fc.integer({ min: 1, max: 2_147_483_647 }), (reference, amount, questionNumber) => {
        const question = signQuestion(SITE, { ...CAPTURE, reference, amount, questionNumber });
        expect([...new URLSearchParams(question.body)]).toEqual(question.fields);
      }),
    );
  });
});

describe('Paybox Direct answers', () => {
  const answerBytes = Buffer.from(vector.answer_latin1_hex, 'hex');

  it('reads the vector: ISO-8859-1, raw spaces, STATUS of an inquiry, empty values as none', () => {
    const answer = parseDirectAnswer(answerBytes);
    expect(answer).toMatchObject({ code: '00000', comment: 'Demande traitée avec succès', status: 'Capturé', transactionNumber: '0005329117', callNumber: '0010244812', authorisation: 'XXXXXX' });
    expect(answer.fields.REMISE).toBe('');
  });

  it('an answer repeating SITE, RANG and NUMQUESTION is the one to the question, RANG 32 for 032 included', () => {
    expect(echoMismatch(signQuestion(SITE, INQUIRY), parseDirectAnswer(answerBytes))).toBeNull();
  });

  it.each([
    ['another NUMQUESTION', { ...INQUIRY, questionNumber: 43 }, /NUMQUESTION "0000000042" in the answer, 0000000043 asked/],
    ['another site', INQUIRY, /SITE/],
  ])('an answer with %s is not the one to the question', (_, question, message) => {
    const site = question === INQUIRY ? { ...SITE, site: '1999889' } : SITE;
    expect(echoMismatch(signQuestion(site, question), parseDirectAnswer(answerBytes))).toMatch(message);
  });

  it('an answer without RANG is not one to believe', () => {
    const bytes = Buffer.from('SITE=1999888&NUMQUESTION=0000000042&CODEREPONSE=00000', 'latin1');
    expect(echoMismatch(signQuestion(SITE, INQUIRY), parseDirectAnswer(bytes))).toMatch(/RANG missing/);
  });

  it.each([
    ['an empty body', '', /empty/],
    ['an HTML page', '<html><body>maintenance</body></html>', /field name/],
    ['no CODEREPONSE', 'SITE=1999888&RANG=32', /no CODEREPONSE/],
    ['a CODEREPONSE that is not 5 digits', 'CODEREPONSE=OK', /not 5 digits/],
    ['a field twice', 'CODEREPONSE=00000&CODEREPONSE=00001', /twice/],
  ])('refuses %s', (_, text, message) => {
    expect(() => parseDirectAnswer(Buffer.from(text, 'latin1'))).toThrow(message);
  });

  it('decodes %XX as Latin-1 and + as a space, as the official plugins read answers', () => {
    expect(parseDirectAnswer(Buffer.from('CODEREPONSE=00000&COMMENTAIRE=Demande+trait%E9e&STATUS=???', 'latin1'))).toMatchObject({ comment: 'Demande traitée', status: null });
  });

  it('reads back any answer written in its format, and throws nothing but its own error on any bytes (property)', () => {
    const name = fc.stringMatching(/^[A-Z][A-Z0-9]{0,11}$/).filter((n) => n !== 'CODEREPONSE');
    const value = fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)) }).filter((v) => !/[&+%]/.test(v) && v.trim() === v);
    fc.assert(
      fc.property(fc.dictionary(name, value, { maxKeys: 12 }), fc.stringMatching(/^\d{5}$/), (fields, code) => {
        const all = { ...fields, CODEREPONSE: code };
        const text = Object.entries(all).map(([k, v]) => `${k}=${v}`).join('&');
        expect(parseDirectAnswer(Buffer.from(text, 'latin1')).fields).toEqual(all);
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          parseDirectAnswer(Buffer.from(bytes));
        } catch (error) {
          expect(error).toBeInstanceOf(DirectAnswerError);
        }
      }),
    );
  });
});

describe('what an answer asks of the caller', () => {
  it.each([
    ['00000', 'ok'],
    ['00001', 'failover'],
    ['00003', 'failover'],
    ['00097', 'failover'],
    ['00098', 'failover'],
    ['00099', 'later'],
    ['00011', 'refused'],
    ['00015', 'refused'],
    ['00105', 'refused'],
  ])('CODEREPONSE %s: %s', (code, expected) => {
    expect(classifyCode(code)).toBe(expected);
  });

  it.each([
    ['capture', 'Capturé', false, true],
    ['capture', 'Remboursé', false, true],
    ['capture', 'Autorisé', false, false],
    ['cancel', 'Annulé', false, true],
    ['cancel', 'Autorisé', false, false],
    ['refund', 'Remboursé', false, true],
    ['refund', 'Capturé', false, false],
    ['refund', 'Remboursé', true, null],
    ['capture', 'Rejet support', false, null],
    ['capture', null, false, null],
  ] as const)('a %s whose answer never came, the inquiry saying %s (refunded before: %s): happened %s', (operation, status, refundedBefore, expected) => {
    expect(writeHappened(operation, status, refundedBefore)).toBe(expected);
  });
});
