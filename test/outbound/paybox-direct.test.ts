import { PayboxDirect, type DirectRequest } from '../../src/outbound/paybox-direct';
import { startFakePayboxDirect, type FakePayboxDirect } from '../../src/tools/fake-paybox-direct';

const KEY = '0123456789ABCDEF'.repeat(8);
/** A port nothing listens on: connecting to it is refused. */
const CLOSED = 'http://127.0.0.1:9/PPPS.php';

let fake: FakePayboxDirect;
beforeAll(async () => {
  fake = await startFakePayboxDirect([{ site: '1999888', rang: '32', hmacKeyHex: KEY }]);
});
afterAll(() => fake.close());

let question = 0;
const clients: PayboxDirect[] = [];
beforeEach(() => {
  fake.behaviour.primary = 'answer';
  fake.behaviour.secondary = 'answer';
  fake.questions.length = 0;
  fake.transactions.clear();
  fake.transactions.set('0005329117', { site: '1999888', rang: '32', callNumber: '0010244812', status: 'Autorisé', authorised: 1500, captured: 0, refunded: 0 });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

function client(urls: string[], options: { timeoutMs?: number; hmacKeyHex?: string } = {}): PayboxDirect {
  const access = { site: '1999888', rang: '32', hmacKeyHex: options.hmacKeyHex ?? KEY, urls, version: '00104' as const };
  const created = new PayboxDirect(access, { timeoutMs: options.timeoutMs ?? 2000, nextQuestion: () => Promise.resolve(++question) });
  clients.push(created);
  return created;
}

const NUMBERS = { transactionNumber: '0005329117', callNumber: '0010244812' };
const capture = (amount = 1500): DirectRequest => ({ operation: 'capture', ...NUMBERS, amount, currencyNumeric: '978', reference: 'CMD-42' });
const refund = (amount: number, refundedBefore = false): DirectRequest => ({ operation: 'refund', ...NUMBERS, amount, currencyNumeric: '978', reference: 'CMD-42', refundedBefore });
const both = () => [fake.url('primary'), fake.url('secondary')];
const asked = () => fake.questions.map((q) => `${q.host} ${q.fields.TYPE} ${q.code}`);

describe('Paybox Direct client', () => {
  it('a capture Paybox accepts: one question, signed, its own NUMQUESTION, the answer kept', async () => {
    const exchange = await client(both()).ask(capture());
    expect(exchange).toMatchObject({ result: 'accepted', answeredBy: fake.url('primary'), answer: { code: '00000', comment: 'Demande traitée avec succès' } });
    expect(asked()).toEqual(['primary 00002 00000']);
    expect(fake.transactions.get('0005329117')).toMatchObject({ status: 'Capturé', captured: 1500 });
    expect(exchange.attempts).toHaveLength(1);
  });

  it("a refusal is Paybox's answer: returned, and never sent to the secondary", async () => {
    const exchange = await client(both()).ask(capture(99_999));
    expect(exchange).toMatchObject({ result: 'refused', answer: { code: '00011' } });
    expect(asked()).toEqual(['primary 00002 00011']);
  });

  it('a question signed with another key is refused (00006), not failed over', async () => {
    const exchange = await client(both(), { hmacKeyHex: 'AB'.repeat(64) }).ask(capture());
    expect(exchange).toMatchObject({ result: 'refused', answer: { code: '00006' } });
    expect(fake.transactions.get('0005329117')?.status).toBe('Autorisé');
  });

  it.each([
    ['answers HTTP 503', 'http503' as const],
    ['answers 00001, "try the secondary site"', 'code00001' as const],
  ])('when the primary %s, the same operation goes to the secondary, with a new NUMQUESTION', async (_, behaviour) => {
    fake.behaviour.primary = behaviour;
    const exchange = await client(both()).ask(capture());
    expect(exchange).toMatchObject({ result: 'accepted', answeredBy: fake.url('secondary') });
    expect(exchange.attempts.map((a) => a.url)).toEqual(both());
    const numbers = exchange.attempts.map((a) => new Map(a.fields).get('NUMQUESTION'));
    expect(new Set(numbers).size).toBe(2);
    expect(fake.transactions.get('0005329117')).toMatchObject({ status: 'Capturé', captured: 1500 });
  });

  it('when the primary takes no connection, the secondary is asked', async () => {
    const exchange = await client([CLOSED, fake.url('secondary')]).ask(capture());
    expect(exchange).toMatchObject({ result: 'accepted', answeredBy: fake.url('secondary') });
    expect(exchange.attempts[0]?.outcome).toMatch(/^not sent/);
  });

  it('a capture done whose answer never came is not sent again: the inquiry on the secondary shows it done', async () => {
    fake.behaviour.primary = 'apply-then-hang';
    const exchange = await client(both(), { timeoutMs: 300 }).ask(capture());
    expect(exchange).toMatchObject({ result: 'accepted', answeredBy: fake.url('secondary'), answer: { status: 'Capturé' } });
    expect(asked()).toEqual(['primary 00002 00000', 'secondary 00017 00000']);
    expect(exchange.attempts.map((a) => a.outcome)).toEqual(['no answer: no answer within 300 ms', 'answered 00000']);
  });

  it('a capture not done whose answer never came is sent to the secondary once the inquiry shows it not done', async () => {
    fake.behaviour.primary = 'hang';
    const exchange = await client(both(), { timeoutMs: 300 }).ask(capture());
    expect(exchange).toMatchObject({ result: 'accepted', answeredBy: fake.url('secondary') });
    expect(asked()).toEqual(['secondary 00017 00000', 'secondary 00002 00000']);
    expect(fake.transactions.get('0005329117')).toMatchObject({ status: 'Capturé', captured: 1500 });
  });

  it('an answer to another question is never believed: the inquiry says what happened', async () => {
    fake.behaviour.primary = 'wrong-echo';
    const exchange = await client(both()).ask(capture());
    expect(exchange.attempts[0]?.outcome).toMatch(/^answer to another question: NUMQUESTION/);
    expect(exchange).toMatchObject({ result: 'accepted', answeredBy: fake.url('secondary'), answer: { status: 'Capturé' } });
    expect(asked()).toEqual(['primary 00002 00000', 'secondary 00017 00000']);
  });

  it('a second refund whose answer never came stays unknown: the inquiry cannot tell it from the first, and it is not sent again', async () => {
    fake.transactions.set('0005329117', { site: '1999888', rang: '32', callNumber: '0010244812', status: 'Remboursé', authorised: 1500, captured: 1500, refunded: 500 });
    fake.behaviour.primary = 'apply-then-hang';
    const exchange = await client(both(), { timeoutMs: 300 }).ask(refund(500, true));
    expect(exchange).toMatchObject({ result: 'unknown', answer: null });
    expect(exchange.reason).toMatch(/no inquiry could say whether the refund happened/);
    expect(asked()).toEqual(['primary 00014 00000', 'secondary 00017 00000']);
    expect(fake.transactions.get('0005329117')?.refunded).toBe(1000);
  });

  it('an inquiry whose host answers with garbage goes to the next host', async () => {
    fake.behaviour.primary = 'garbage';
    const exchange = await client(both()).ask({ operation: 'inquiry', ...NUMBERS });
    expect(exchange).toMatchObject({ result: 'accepted', answeredBy: fake.url('secondary'), answer: { status: 'Autorisé' } });
    expect(exchange.attempts[0]?.outcome).toMatch(/^unreadable answer/);
  });

  it('no host answering is unknown, saying what each did', async () => {
    fake.behaviour.primary = 'http503';
    fake.behaviour.secondary = 'http503';
    const exchange = await client(both()).ask(capture());
    expect(exchange).toMatchObject({ result: 'unknown', answer: null, answeredBy: null });
    expect(exchange.reason).toBe(`no Paybox Direct host answered: ${fake.url('primary')} (HTTP 503), ${fake.url('secondary')} (HTTP 503)`);
    expect(fake.transactions.get('0005329117')?.status).toBe('Autorisé');
  });

  it('a caller that stops waiting gets unknown at once, with nothing sent after', async () => {
    fake.behaviour.primary = 'hang';
    const exchange = await client(both(), { timeoutMs: 5000 }).ask(capture(), AbortSignal.timeout(200));
    expect(exchange).toMatchObject({ result: 'unknown', reason: 'the caller gave up waiting' });
    expect(asked()).toEqual([]);
  });
});
