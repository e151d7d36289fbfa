import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import request from 'supertest';
import { DEFAULT_RETOUR } from '../../src/tools/paybox-notifications';
import { startFakePayboxDirect, type FakePayboxDirect, type FakeStatus } from '../../src/tools/fake-paybox-direct';
import { createTestApp, type TestApp } from '../helpers/app';
import { openTestDatabase, type TestDatabase } from '../helpers/database';
import { getPaybox, PAYBOX_ENV } from '../helpers/paybox';

const OPERATOR = 'operator-token-0123456789abcdefghijklmnopqrs';
const READER = 'reader-token-0123456789abcdefghijklmnopqrstuv';
const sha256 = (token: string) => createHash('sha256').update(token).digest('hex');
const KEY = 'A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8F90';
const DEFERRED = '1999888-32';
const IMMEDIATE = '1999888-44';

let database: TestDatabase;
let fake: FakePayboxDirect;
let t: TestApp;

beforeAll(async () => {
  database = await openTestDatabase();
  fake = await startFakePayboxDirect([{ site: '1999888', rang: '32', hmacKeyHex: KEY }, { site: '1999888', rang: '44', hmacKeyHex: KEY }]);
  const directUrls = [fake.url('primary'), fake.url('secondary')];
  t = createTestApp(database, {
    ...PAYBOX_ENV,
    PAYBOX_SITES: JSON.stringify([
      { site: '1999888', rang: '32', retour: DEFAULT_RETOUR, mode: 'TEST', capture: 'deferred', directHmacKey: KEY, directUrls },
      { site: '1999888', rang: '44', retour: DEFAULT_RETOUR, mode: 'TEST', directHmacKey: KEY, directUrls, directVersion: '00104' },
      { site: '1999888', rang: '43', retour: 'Mt:M;Ref:R;Erreur:E;Appel:T;Sign:K', mode: 'TEST' },
    ]),
    PAYBOX_DIRECT_TIMEOUT_MS: '1000',
    API_TOKENS: JSON.stringify([
      { name: 'ops-1', tokenSha256: sha256(OPERATOR), scopes: ['read', 'replay', 'operate'] },
      { name: 'support-1', tokenSha256: sha256(READER), scopes: ['read'] },
    ]),
  });
});
afterAll(async () => {
  await t.close();
  await fake.close();
  await database.close();
});
beforeEach(async () => {
  await database.reset();
  fake.transactions.clear();
  fake.questions.length = 0;
  fake.behaviour.primary = 'answer';
  fake.behaviour.secondary = 'answer';
});

const pad = (n: string) => n.padStart(10, '0');
let nextTransaction = 71_622_600;

/** A paid attempt: the IPN as Paybox sends it, and the transaction as Paybox Direct knows it. */
async function paidOrder(orderId: string, shopId = DEFERRED, amount = 4990, status: FakeStatus = 'Autorisé') {
  const transaction = String(nextTransaction++);
  const call = String(nextTransaction + 50_000_000);
  await getPaybox(t.app, { prefix: `site=${shopId}`, orderId, amount, transaction, call }).expect(200);
  const rang = shopId.split('-')[1] as string;
  fake.transactions.set(pad(transaction), { site: '1999888', rang, callNumber: pad(call), status, authorised: amount, captured: status === 'Capturé' ? amount : 0, refunded: 0 });
  return { transaction, call };
}

const operate = (token = OPERATOR) => ({
  post: (orderId: string, operation: string, body: Record<string, unknown>) =>
    request(t.app).post(`/api/v1/orders/${encodeURIComponent(orderId)}/${operation}`).set('Authorization', `Bearer ${token}`).send(body),
  reconcile: (orderId: string, shopId: string, provider = 'paybox') =>
    request(t.app).post(`/api/v1/orders/${encodeURIComponent(orderId)}/reconcile?provider=${provider}&shopId=${shopId}`).set('Authorization', `Bearer ${token}`),
});
const ops = operate();
const body = (shopId: string, idempotencyKey: string, amount?: number) => ({ provider: 'paybox', shopId, idempotencyKey, ...(amount === undefined ? {} : { amount }) });

const orderRow = (orderId: string) => database.db.selectFrom('orders').selectAll().where('order_id', '=', orderId).executeTakeFirstOrThrow();
const transactionsOf = async (orderId: string) => {
  const order = await orderRow(orderId);
  return database.db.selectFrom('transactions').select(['transaction_id', 'operation', 'status', 'status_raw', 'amount']).where('order_ref', '=', order.id).orderBy('last_notification_id').execute();
};
const eventTypes = async () => (await database.db.selectFrom('outbox').select('type').orderBy('seq').execute()).map((e) => e.type);
const questionTypes = () => fake.questions.map((q) => `${q.host}:${q.fields.TYPE}:${q.code}`);

describe('capture, refund and cancel through Paybox Direct', () => {
  it('captures an authorisation of a deferred-capture site, once per idempotency key', async () => {
    const { transaction } = await paidOrder('CMD-CAP');
    const first = await ops.post('CMD-CAP', 'capture', body(DEFERRED, 'cap-1'));
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ result: 'accepted', code: '00000', comment: 'Demande traitée avec succès', orderStatus: 'PAID', amount: 4990, answeredBy: fake.url('primary') });
    expect(await transactionsOf('CMD-CAP')).toEqual([{ transaction_id: transaction, operation: 'debit', status: 'captured', status_raw: 'Capturé', amount: 4990 }]);
    expect(fake.transactions.get(pad(transaction))?.status).toBe('Capturé');

    const repeat = await ops.post('CMD-CAP', 'capture', body(DEFERRED, 'cap-1'));
    expect(repeat.body).toEqual(first.body);
    expect(questionTypes()).toEqual(['primary:00002:00000']);
    // Another key: the order no longer allows it, and nothing is sent.
    const again = await ops.post('CMD-CAP', 'capture', body(DEFERRED, 'cap-2'));
    expect(again.status).toBe(422);
    expect(again.body.detail).toBe('order is PAID: no authorised payment waits for capture');
    expect(fake.questions).toHaveLength(1);

    const call = await database.db.selectFrom('deliveries').selectAll().where('origin', '=', 'direct').executeTakeFirstOrThrow();
    expect(call).toMatchObject({ provider: 'paybox', verdict: 'applied', fetched_from: fake.url('primary'), content_type: 'application/json' });
    const recorded = JSON.parse(Buffer.from(call.raw_body as Uint8Array).toString()) as { operator: string; attempts: { question: Record<string, string>; answer: Record<string, string> }[] };
    expect(recorded.operator).toBe('ops-1');
    expect(recorded.attempts[0]?.question).toMatchObject({ VERSION: '00103', TYPE: '00002', SITE: '1999888', RANG: '032', MONTANT: '0000004990', DEVISE: '978', REFERENCE: 'CMD-CAP', NUMTRANS: pad(transaction) });
    expect(recorded.attempts[0]?.answer).toMatchObject({ CODEREPONSE: '00000' });

    // The exchange is not a notification: there is nothing to replay, for the call nor its notification.
    const replay = await request(t.app).post(`/api/v1/deliveries/${call.id}/replay`).set('Authorization', `Bearer ${OPERATOR}`);
    expect([replay.status, replay.body.detail]).toEqual([409, `delivery ${call.id} is an exchange with the platform's API (origin direct), not a notification: reconcile the order to ask again`]);
    const captured = await database.db.selectFrom('notifications').select('id').where('status', '=', 'captured').executeTakeFirstOrThrow();
    expect((await request(t.app).post(`/api/v1/notifications/${captured.id}/replay`).set('Authorization', `Bearer ${OPERATOR}`)).status).toBe(409);
  });

  it('refunds part, then the rest, within what was paid; the order events follow', async () => {
    await paidOrder('CMD-REF', IMMEDIATE, 4990, 'Capturé');
    const part = await ops.post('CMD-REF', 'refund', body(IMMEDIATE, 'ref-1', 1000));
    expect(part.body).toMatchObject({ result: 'accepted', orderStatus: 'PAID', amount: 1000 });
    const tooMuch = await ops.post('CMD-REF', 'refund', body(IMMEDIATE, 'ref-2', 4000));
    expect(tooMuch.status).toBe(422);
    expect(tooMuch.body.detail).toBe('a refund of 4000 exceeds the 3990 left to refund (4990 paid, 1000 refunded)');
    const rest = await ops.post('CMD-REF', 'refund', body(IMMEDIATE, 'ref-3'));
    expect(rest.body).toMatchObject({ result: 'accepted', orderStatus: 'REFUNDED', amount: 3990 });
    expect(await orderRow('CMD-REF')).toMatchObject({ status: 'REFUNDED', paid_amount: 4990, refunded_amount: 4990 });
    expect(await eventTypes()).toEqual(['order.paid', 'order.partially_refunded', 'order.refunded']);
    expect((await ops.post('CMD-REF', 'refund', body(IMMEDIATE, 'ref-4', 1))).body.detail).toBe('nothing is left to refund: 4990 paid, 4990 refunded');
    // Direct Plus signs its questions with its own VERSION.
    expect(fake.questions.map((q) => q.fields.VERSION)).toEqual(['00104', '00104']);
  });

  it('cancels an authorisation before capture, and not after', async () => {
    await paidOrder('CMD-CAN');
    expect((await ops.post('CMD-CAN', 'cancel', body(DEFERRED, 'can-1'))).body).toMatchObject({ result: 'accepted', orderStatus: 'CANCELLED' });
    expect(await eventTypes()).toEqual(['order.paid', 'order.cancelled']);

    await paidOrder('CMD-CAN-2');
    await ops.post('CMD-CAN-2', 'capture', body(DEFERRED, 'cap-c2')).expect(200);
    const late = await ops.post('CMD-CAN-2', 'cancel', body(DEFERRED, 'can-2'));
    expect(late.status).toBe(422);
    expect(late.body.detail).toMatch(/no payment is left to cancel before capture/);
    expect((await ops.post('CMD-CAN-2', 'cancel', body(DEFERRED, 'can-3', 100))).status).toBe(422);
  });

  it('checks the order against the site: nothing to capture on an immediate site, nothing to refund before capture', async () => {
    await paidOrder('CMD-IMM', IMMEDIATE, 4990, 'Capturé');
    expect((await ops.post('CMD-IMM', 'capture', body(IMMEDIATE, 'k1'))).body.detail).toMatch(/captures at payment \(capture: immediate\)/);
    await paidOrder('CMD-DEF');
    expect((await ops.post('CMD-DEF', 'refund', body(DEFERRED, 'k2'))).body.detail).toBe('the payment is authorised, not captured: cancel it instead of refunding');
    expect((await ops.post('CMD-DEF', 'capture', body(DEFERRED, 'k3', 5000))).body.detail).toBe('a capture of 5000 exceeds the 4990 authorised');
    expect(fake.questions).toHaveLength(0);
  });

  it('a refusal is Paybox answer, 200 with its code, applied nowhere and not sent to the secondary', async () => {
    const { transaction } = await paidOrder('CMD-BO');
    // Cancelled in the back office: Paybox refuses the capture.
    (fake.transactions.get(pad(transaction)) as { status: FakeStatus }).status = 'Annulé';
    const refused = await ops.post('CMD-BO', 'capture', body(DEFERRED, 'cap-bo'));
    expect(refused.status).toBe(200);
    expect(refused.body).toMatchObject({ result: 'refused', code: '00015', orderStatus: 'PAID' });
    expect(questionTypes()).toEqual(['primary:00002:00015']);
    expect((await transactionsOf('CMD-BO'))[0]?.status).toBe('authorised');
    const call = await database.db.selectFrom('deliveries').select(['verdict', 'reason']).where('origin', '=', 'direct').executeTakeFirstOrThrow();
    expect(call).toEqual({ verdict: 'unknown_status', reason: "Paybox refused the capture: 00015 Erreur d'accès aux données précédemment référencées" });
  });
});

describe('the secondary host and answers that never came', () => {
  it.each(['http503', 'code00001'] as const)('a primary answering %s: the secondary does it, and is the one recorded', async (behaviour) => {
    await paidOrder('CMD-FO');
    fake.behaviour.primary = behaviour;
    const result = await ops.post('CMD-FO', 'capture', body(DEFERRED, 'fo-1'));
    expect(result.body).toMatchObject({ result: 'accepted', answeredBy: fake.url('secondary') });
    const call = await database.db.selectFrom('deliveries').select('fetched_from').where('origin', '=', 'direct').executeTakeFirstOrThrow();
    expect(call.fetched_from).toBe(fake.url('secondary'));
  });

  it('a capture whose answer never came is not sent again: an inquiry on the secondary finds it done', async () => {
    await paidOrder('CMD-HANG');
    fake.behaviour.primary = 'apply-then-hang';
    const result = await ops.post('CMD-HANG', 'capture', body(DEFERRED, 'hang-1'));
    expect(result.body).toMatchObject({ result: 'accepted', orderStatus: 'PAID', answeredBy: fake.url('secondary') });
    expect(questionTypes()).toEqual(['primary:00002:00000', 'secondary:00017:00000']);
    expect((await transactionsOf('CMD-HANG'))[0]?.status).toBe('captured');
  });

  it('no host answers: unknown, never sent twice, later settled by the inquiry', async () => {
    await paidOrder('CMD-LOST');
    fake.behaviour.primary = 'apply-then-hang';
    fake.behaviour.secondary = 'garbage';
    const lost = await ops.post('CMD-LOST', 'capture', body(DEFERRED, 'lost-1'));
    expect(lost.body).toMatchObject({ result: 'unknown', code: null, orderStatus: 'PAID' });
    expect(lost.body.reason).toMatch(/no inquiry could say whether the capture happened/);
    expect((await ops.post('CMD-LOST', 'capture', body(DEFERRED, 'lost-1'))).body).toEqual(lost.body);
    // Another write waits for the inquiry: it might repeat what was done.
    const blocked = await ops.post('CMD-LOST', 'cancel', body(DEFERRED, 'lost-2'));
    expect(blocked.status).toBe(409);
    expect(blocked.body.detail).toMatch(/has no known outcome: reconcile the order first/);
    expect(fake.questions.filter((q) => q.fields.TYPE === '00002')).toHaveLength(1);
    expect((await transactionsOf('CMD-LOST'))[0]?.status).toBe('authorised');

    fake.behaviour.primary = 'answer';
    const reconciled = await ops.reconcile('CMD-LOST', DEFERRED);
    expect(reconciled.body).toMatchObject({ checked: 1, changed: 1, orderStatus: 'PAID' });
    expect((await transactionsOf('CMD-LOST'))[0]?.status).toBe('captured');
    const settled = await database.db.selectFrom('direct_operations').select(['result', 'reason']).executeTakeFirstOrThrow();
    expect(settled).toEqual({ result: 'accepted', reason: 'done: an inquiry found the transaction Capturé' });
    expect((await ops.post('CMD-LOST', 'capture', body(DEFERRED, 'lost-1'))).body.result).toBe('accepted');
  });

  it('an operation left out by an instance that stopped becomes unknown, and the inquiry settles it', async () => {
    const { transaction } = await paidOrder('CMD-CRASH');
    await sql`INSERT INTO direct_operations (created_at, provider, shop_id, mode, order_id, idempotency_key, operation, transaction_id, amount, token_name)
      VALUES (now() - interval '1 hour', 'paybox', ${DEFERRED}, 'TEST', 'CMD-CRASH', 'crashed', 'capture', ${transaction}, 4990, 'ops-1')`.execute(database.db);
    // Paybox captured it before the instance could record the answer.
    Object.assign(fake.transactions.get(pad(transaction)) as object, { status: 'Capturé', captured: 4990 });
    const next = await ops.post('CMD-CRASH', 'cancel', body(DEFERRED, 'after-crash'));
    expect([next.status, next.body.detail]).toEqual([409, 'the capture of operation 1 has no known outcome: reconcile the order first']);
    expect(fake.questions).toHaveLength(0);
    expect((await ops.reconcile('CMD-CRASH', DEFERRED)).body).toMatchObject({ checked: 1, changed: 1 });
    expect((await transactionsOf('CMD-CRASH'))[0]?.status).toBe('captured');
    expect((await ops.post('CMD-CRASH', 'capture', body(DEFERRED, 'crashed'))).body).toMatchObject({ result: 'accepted', reason: 'done: an inquiry found the transaction Capturé' });
    // The key the refusal did not use is free.
    expect((await ops.post('CMD-CRASH', 'cancel', body(DEFERRED, 'after-crash'))).body.detail).toMatch(/no payment is left to cancel before capture/);
  });

  it('an answer to another question is never applied', async () => {
    await paidOrder('CMD-ECHO');
    fake.behaviour.primary = 'wrong-echo';
    fake.behaviour.secondary = 'hang';
    const result = await ops.post('CMD-ECHO', 'cancel', body(DEFERRED, 'echo-1'));
    expect(result.body.result).toBe('unknown');
    expect((await transactionsOf('CMD-ECHO'))[0]?.status).toBe('authorised');
    const call = await database.db.selectFrom('deliveries').select(['verdict', 'raw_body']).where('origin', '=', 'direct').executeTakeFirstOrThrow();
    expect(call.verdict).toBe('unavailable');
    expect(Buffer.from(call.raw_body as Uint8Array).toString()).toContain('answer to another question: NUMQUESTION');
  });

  it('concurrent repeats of one key send one question and share its result', async () => {
    await paidOrder('CMD-CONC');
    const results = await Promise.all([1, 2, 3].map(() => ops.post('CMD-CONC', 'capture', body(DEFERRED, 'conc-1'))));
    expect(new Set(results.map((r) => JSON.stringify(r.body))).size).toBe(1);
    expect(results[0]?.body.result).toBe('accepted');
    expect(fake.questions).toHaveLength(1);
  });
});

describe('reconcile: what Paybox says of each attempt', () => {
  it('a refund made in the back office makes the order REFUNDED, once', async () => {
    const { transaction } = await paidOrder('CMD-REC', IMMEDIATE, 4990, 'Capturé');
    const first = await ops.reconcile('CMD-REC', IMMEDIATE);
    expect(first.body).toMatchObject({ checked: 1, changed: 1, orderStatus: 'PAID' });
    expect((await transactionsOf('CMD-REC'))[0]?.status).toBe('captured');
    (fake.transactions.get(pad(transaction)) as { status: FakeStatus }).status = 'Remboursé';
    const second = await ops.reconcile('CMD-REC', IMMEDIATE);
    expect(second.body).toMatchObject({ checked: 1, changed: 1, orderStatus: 'REFUNDED' });
    expect(second.body.details[0]).toMatch(/the whole payment is taken as refunded/);
    expect((await ops.reconcile('CMD-REC', IMMEDIATE)).body).toMatchObject({ changed: 0, orderStatus: 'REFUNDED' });
    expect(await eventTypes()).toEqual(['order.paid', 'order.refunded']);
    const origins = await database.db.selectFrom('deliveries').select('origin').where('origin', '=', 'reconcile').execute();
    expect(origins).toHaveLength(3);
  });

  it('a status contradicting what is known is recorded as stale, never applied backwards', async () => {
    const { transaction } = await paidOrder('CMD-STALE', DEFERRED);
    await ops.post('CMD-STALE', 'capture', body(DEFERRED, 's-1')).expect(200);
    (fake.transactions.get(pad(transaction)) as { status: FakeStatus }).status = 'Refusé';
    const result = await ops.reconcile('CMD-STALE', DEFERRED);
    expect(result.body).toMatchObject({ checked: 1, changed: 0, orderStatus: 'PAID' });
    expect(result.body.details[0]).toMatch(/stale/);
    expect((await transactionsOf('CMD-STALE'))[0]?.status).toBe('captured');
  });

  it('Paybox down: recorded as unavailable, nothing changed', async () => {
    await paidOrder('CMD-DOWN', IMMEDIATE);
    fake.behaviour.primary = 'http503';
    fake.behaviour.secondary = 'http503';
    const result = await ops.reconcile('CMD-DOWN', IMMEDIATE);
    expect(result.body).toMatchObject({ checked: 1, changed: 0, orderStatus: 'PAID' });
    const call = await database.db.selectFrom('deliveries').select('verdict').where('origin', '=', 'reconcile').executeTakeFirstOrThrow();
    expect(call.verdict).toBe('unavailable');
  });
});

describe('requests refused before anything is sent', () => {
  it('answers problems that say what is wrong', async () => {
    await paidOrder('CMD-BAD');
    const cases: [string, Record<string, unknown>, number, RegExp][] = [
      ['CMD-NONE', body(DEFERRED, 'b1'), 404, /order CMD-NONE of Paybox site 1999888-32 not found/],
      ['CMD-BAD', { ...body(DEFERRED, 'b2'), provider: 'lyra' }, 422, /provider must be paybox, not lyra/],
      ['CMD-BAD', body('1999888-43', 'b3'), 409, /has no directHmacKey: set it in PAYBOX_SITES/],
      ['CMD-BAD', body('1999888-99', 'b4'), 404, /Paybox site 1999888-99 is not configured/],
      ['CMD-BAD', { provider: 'paybox', shopId: DEFERRED }, 400, /idempotencyKey: required/],
      ['CMD-BAD', body(DEFERRED, 'b5', 0), 400, /amount: a whole number of minor units/],
      ['CMD-BAD', { ...body(DEFERRED, 'b6'), currency: 'EUR' }, 400, /currency: not a field of this request/],
    ];
    for (const [orderId, payload, status, detail] of cases) {
      const response = await ops.post(orderId, 'capture', payload);
      expect([orderId, payload, response.status]).toEqual([orderId, payload, status]);
      expect(response.body.detail).toMatch(detail);
    }
    const malformed = await request(t.app).post('/api/v1/orders/CMD-BAD/refund').set('Authorization', `Bearer ${OPERATOR}`).set('Content-Type', 'application/json').send('{"provider":');
    expect(malformed.status).toBe(400);
    expect(malformed.body.detail).toBe('the body is not valid JSON');
    expect((await operate(READER).post('CMD-BAD', 'refund', body(DEFERRED, 'b7'))).body).toMatchObject({ status: 403, missingScope: 'operate' });
    expect((await ops.reconcile('CMD-BAD', DEFERRED, 'stripe')).body).toMatchObject({ status: 400, detail: 'provider: required: one of lyra, paybox' });
    expect(fake.questions).toHaveLength(0);
  });

  it('an idempotency key reused for another request is refused', async () => {
    await paidOrder('CMD-KEY', IMMEDIATE, 4990, 'Capturé');
    await ops.post('CMD-KEY', 'refund', body(IMMEDIATE, 'same', 100)).expect(200);
    const reused = await ops.post('CMD-KEY', 'refund', body(IMMEDIATE, 'same', 200));
    expect(reused.status).toBe(422);
    expect(reused.body.detail).toBe('idempotency key same was used for a refund of 100 on order CMD-KEY: use a new key for another request');
  });

  it('every operation is in the operator log with its outcome', async () => {
    await paidOrder('CMD-LOG', IMMEDIATE, 4990, 'Capturé');
    await ops.post('CMD-LOG', 'refund', body(IMMEDIATE, 'log-1', 100)).expect(200);
    await ops.post('CMD-LOG', 'capture', body(IMMEDIATE, 'log-2')).expect(422);
    const log = await database.db.selectFrom('operator_actions').select(['token_name', 'action', 'target', 'outcome', 'detail']).orderBy('id').execute();
    expect(log).toEqual([
      { token_name: 'ops-1', action: 'refund', target: 'order CMD-LOG', outcome: 'done', detail: 'accepted 00000 (operation 1, 100)' },
      { token_name: 'ops-1', action: 'capture', target: 'order CMD-LOG', outcome: 'refused', detail: expect.stringMatching(/captures at payment/) as string },
    ]);
  });
});
