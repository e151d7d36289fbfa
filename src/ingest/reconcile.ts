import type { OrderIdentity } from '../domain/events';
import { DirectRequestError, type Operator, type PayboxOperations } from './paybox-direct';

/**
 * What asking a platform about one order gave:
 * - `changed`: the platform knew more, and it was applied (a missed notification, found);
 * - `unchanged`: the platform says what the service knows;
 * - `not_checkable`: the platform cannot be asked about this order (no credentials, no API to
 *   ask it by, no identifier to ask with), with why: reported, never retried, never guessed;
 * - `unavailable`: the platform did not answer: asked again later, with backoff.
 */
export type CheckOutcome = { outcome: 'changed' | 'unchanged' | 'not_checkable' | 'unavailable'; detail: string; changes: number };

export type OrderChecker = (order: OrderIdentity, why: string) => Promise<CheckOutcome>;

/** The worker's calls are recorded under this name, as an operator's are under their token's. */
export const RECONCILER: Operator = { tokenName: 'reconciliation', sourceIp: 'reconcile-worker', requestId: null };

const notCheckable = (detail: string): CheckOutcome => ({ outcome: 'not_checkable', detail, changes: 0 });

/**
 * Paybox: the Direct inquiry of each attempt the order's notifications named. A payment whose
 * notification never came cannot be asked about: Paybox Direct is asked by the transaction and
 * call numbers an IPN carries, and what its existence check (TYPE 00011, by reference and
 * amount) answers is not documented in what could be read.
 */
function payboxChecker(operations: PayboxOperations | undefined): OrderChecker {
  return async (order, why) => {
    if (operations === undefined) return notCheckable('no Paybox site has a directHmacKey: Paybox Direct cannot be asked');
    try {
      const answer = await operations.reconcile(order.orderId, order.shopId, RECONCILER);
      if (answer.unanswered === answer.checked) return { outcome: 'unavailable', detail: answer.details.join('; '), changes: 0 };
      return { outcome: answer.changed > 0 ? 'changed' : 'unchanged', detail: answer.details.join('; '), changes: answer.changed };
    } catch (error) {
      if (!(error instanceof DirectRequestError)) throw error;
      if (error.status === 404 && why === 'expected_payment') {
        return notCheckable('no notification of this payment reached the service, and Paybox Direct is asked by the numbers of one (S, T): a payment cannot be looked up by its reference; check it in the Paybox back office');
      }
      return notCheckable(error.message);
    }
  };
}

/** Providers whose API this version does not ask yet: reported as such, so that nobody takes silence for a check. */
const noClient = (provider: string): OrderChecker => () => Promise.resolve(notCheckable(`this version does not ask ${provider}'s API yet: the platform's back office is the record`));

export function createOrderChecker(deps: { payboxOperations: PayboxOperations | undefined }): OrderChecker {
  const paybox = payboxChecker(deps.payboxOperations);
  return (order, why) => (order.provider === 'paybox' ? paybox(order, why) : noClient(order.provider)(order, why));
}
