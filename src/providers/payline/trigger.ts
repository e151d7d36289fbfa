import { FieldError } from '../fields';

/** What a Payline notification asks the merchant to fetch (https://docs.monext.fr/display/DT/Notification+par+URL). */
export type PaylineTrigger =
  | { kind: 'web'; notificationType: string; token: string }
  | { kind: 'transaction'; notificationType: string; transactionId: string }
  | { kind: 'other'; notificationType: string };

const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;
const TRANSACTION_ID = /^[A-Za-z0-9]{1,50}$/;

/**
 * The notification carries no signature, only an identifier to fetch; it proves nothing by
 * itself, so only its shape is checked here. The type is compared case-insensitively: Payline's
 * own example writes `webtrs`.
 */
export function parsePaylineTrigger(query: string): PaylineTrigger {
  const params = new URLSearchParams(query);
  const type = params.get('notificationType')?.toUpperCase();
  if (type === undefined || !/^[A-Z]{1,20}$/.test(type)) throw new FieldError('notificationType is missing');
  if (type === 'WEBTRS') {
    const token = params.get('token') ?? '';
    if (!TOKEN.test(token)) throw new FieldError('token is missing or malformed');
    return { kind: 'web', notificationType: type, token };
  }
  if (type === 'TRS' || type === 'TRSWALLET') {
    const transactionId = params.get('transactionId') ?? '';
    if (!TRANSACTION_ID.test(transactionId)) throw new FieldError('transactionId is missing or malformed');
    return { kind: 'transaction', notificationType: type, transactionId };
  }
  return { kind: 'other', notificationType: type };
}
