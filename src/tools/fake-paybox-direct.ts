import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for Paybox Direct (PPPS), for the simulator and the tests only. It speaks the
 * wire format: a form-encoded question signed with the site's HMAC key (HMAC-SHA-512 over the
 * fields as sent), an answer of `NAME=value` pairs in ISO-8859-1 that repeats SITE, RANG and
 * NUMQUESTION. It keeps the transactions it is told about and moves them as Paybox does: a
 * capture of an authorisation, a cancel before capture, refunds up to what was captured, and the
 * inquiry's STATUS. Two hosts, `primary` and `secondary` (paths of one server, sharing their
 * transactions as Paybox's hosts do), each made to behave as a test chooses.
 */
export type HostBehaviour =
  /** Answers as Paybox does. */
  | 'answer'
  /** HTTP 503, nothing done. */
  | 'http503'
  /** CODEREPONSE 00001, nothing done: Paybox's "try the secondary site". */
  | 'code00001'
  /** Never answers, nothing done. */
  | 'hang'
  /** Does the operation, then never answers: the write whose answer never came. */
  | 'apply-then-hang'
  /** Does the operation and answers with another NUMQUESTION. */
  | 'wrong-echo'
  /** Answers 200 with a body that is not an answer. */
  | 'garbage';

export type FakeStatus = 'Autorisé' | 'Capturé' | 'Remboursé' | 'Annulé' | 'Refusé';

export interface FakeTransaction {
  site: string;
  rang: string;
  callNumber: string;
  status: FakeStatus;
  /** Minor units authorised, captured and refunded. */
  authorised: number;
  captured: number;
  refunded: number;
}

export interface FakeQuestion {
  host: string;
  fields: Record<string, string>;
  code: string;
}

export interface FakePayboxDirect {
  url(host: 'primary' | 'secondary'): string;
  behaviour: Record<'primary' | 'secondary', HostBehaviour>;
  /** By NUMTRANS (10 digits). */
  transactions: Map<string, FakeTransaction>;
  questions: FakeQuestion[];
  close(): Promise<void>;
}

const TYPES: Record<string, string> = { '00002': 'capture', '00005': 'cancel', '00014': 'refund', '00017': 'inquiry' };

const COMMENTS: Record<string, string> = {
  '00000': 'Demande traitée avec succès',
  '00001': 'La connexion au centre d’autorisation a échoué',
  '00005': 'Numéro de question invalide',
  '00006': 'Accès refusé ou site / rang / identifiant incorrect',
  '00009': "Type d'opération invalide",
  '00011': 'Montant incorrect',
  '00014': 'Trame reçue incohérente',
  '00015': "Erreur d'accès aux données précédemment référencées",
};

export async function startFakePayboxDirect(sites: readonly { site: string; rang: string; hmacKeyHex: string }[], port = 0): Promise<FakePayboxDirect> {
  const keys = new Map(sites.map((s) => [`${Number(s.site)}-${Number(s.rang)}`, s.hmacKeyHex]));
  const state: Pick<FakePayboxDirect, 'behaviour' | 'transactions' | 'questions'> = { behaviour: { primary: 'answer', secondary: 'answer' }, transactions: new Map(), questions: [] };
  const seen = new Set<string>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const host = /^\/(primary|secondary)\/PPPS\.php$/.exec(req.url ?? '')?.[1] as 'primary' | 'secondary' | undefined;
      if (req.method !== 'POST' || host === undefined) return void res.writeHead(404).end();
      const behaviour = state.behaviour[host];
      if (behaviour === 'http503') return void res.writeHead(503).end('Service Unavailable');
      if (behaviour === 'hang') return;
      if (behaviour === 'garbage') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html>maintenance</html>');
      const pairs = [...new URLSearchParams(Buffer.concat(chunks).toString('latin1'))];
      const fields = Object.fromEntries(pairs);
      const code = behaviour === 'code00001' ? '00001' : answerCode(fields, pairs, keys, seen, state.transactions);
      state.questions.push({ host, fields, code });
      if (behaviour === 'apply-then-hang') return;
      const transaction = state.transactions.get(fields.NUMTRANS ?? '');
      const answer: [string, string][] = [
        ['NUMTRANS', fields.NUMTRANS ?? ''],
        ['NUMAPPEL', fields.NUMAPPEL ?? ''],
        ['NUMQUESTION', behaviour === 'wrong-echo' ? String(Number(fields.NUMQUESTION ?? 0) + 1).padStart(10, '0') : (fields.NUMQUESTION ?? '')],
        ['SITE', fields.SITE ?? ''],
        // Paybox has been seen answering the rang without its leading zero.
        ['RANG', String(Number(fields.RANG ?? ''))],
        ['AUTORISATION', code === '00000' ? 'XXXXXX' : ''],
        ['CODEREPONSE', code],
        ['COMMENTAIRE', COMMENTS[code] ?? 'Erreur'],
      ];
      if (fields.TYPE === '00017' && code === '00000' && transaction !== undefined) answer.push(['STATUS', transaction.status], ['REMISE', '']);
      // Raw values, spaces and accents included, in ISO-8859-1: as Paybox sends them.
      res.writeHead(200, { 'content-type': 'text/plain; charset=ISO-8859-1' }).end(Buffer.from(answer.map(([k, v]) => `${k}=${v}`).join('&'), 'latin1'));
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    ...state,
    url: (host) => `${base}/${host}/PPPS.php`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Checks the question as Paybox does, then does it: the CODEREPONSE to answer. */
function answerCode(fields: Record<string, string>, pairs: readonly [string, string][], keys: Map<string, string>, seen: Set<string>, transactions: Map<string, FakeTransaction>): string {
  const siteKey = `${Number(fields.SITE)}-${Number(fields.RANG)}`;
  const key = keys.get(siteKey);
  if (key === undefined || !signatureValid(pairs, key)) return '00006';
  if (!/^\d{10}$/.test(fields.NUMQUESTION ?? '') || seen.has(`${siteKey}:${fields.NUMQUESTION}`)) return '00005';
  seen.add(`${siteKey}:${fields.NUMQUESTION}`);
  const type = TYPES[fields.TYPE ?? ''];
  if (type === undefined) return '00009';
  if (!/^\d{14}$/.test(fields.DATEQ ?? '') || fields.HASH !== 'SHA512') return '00014';
  const t = transactions.get(fields.NUMTRANS ?? '');
  if (t === undefined || t.callNumber !== fields.NUMAPPEL || `${Number(t.site)}-${Number(t.rang)}` !== siteKey) return '00015';
  if (type === 'inquiry') return '00000';
  const amount = Number(fields.MONTANT);
  if (!/^\d{1,10}$/.test(fields.MONTANT ?? '') || amount < 1 || fields.DEVISE === undefined || fields.REFERENCE === undefined) return '00014';
  if (type === 'capture') {
    if (t.status !== 'Autorisé') return '00015';
    if (amount > t.authorised) return '00011';
    Object.assign(t, { status: 'Capturé', captured: amount });
  } else if (type === 'cancel') {
    if (t.status !== 'Autorisé') return '00015';
    t.status = 'Annulé';
  } else {
    if (t.status !== 'Capturé' && t.status !== 'Remboursé') return '00015';
    if (t.refunded + amount > t.captured) return '00011';
    Object.assign(t, { status: 'Remboursé', refunded: t.refunded + amount });
  }
  return '00000';
}

/**
 * HMAC-SHA-512 over the fields as received, HMAC excluded, with raw (decoded) values. Written
 * here again rather than taken from providers/paybox/direct.ts: the fake checks the client the
 * way Paybox would, and a mistake shared by both would pass unseen.
 */
function signatureValid(pairs: readonly [string, string][], keyHex: string): boolean {
  const hmac = pairs.find(([name]) => name === 'HMAC')?.[1] ?? '';
  const signed = pairs
    .filter(([name]) => name !== 'HMAC')
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const expected = createHmac('sha512', Buffer.from(keyHex, 'hex')).update(signed, 'latin1').digest();
  const given = Buffer.from(hmac, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
