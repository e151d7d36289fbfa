import type { Migration } from 'kysely';
import * as m0001 from './0001_initial';
import * as m0002 from './0002_outbox_relay';
import * as m0003 from './0003_audit';
import * as m0004 from './0004_raw_query';
import * as m0005 from './0005_signature_header';
import * as m0006 from './0006_fetched_from';
import * as m0007 from './0007_payline_fetches';
import * as m0008 from './0008_ingest_check';
import * as m0009 from './0009_fewer_write_indexes';
import * as m0010 from './0010_wallet';
import * as m0011 from './0011_operators';
import * as m0012 from './0012_paybox_direct';
import * as m0013 from './0013_direct_operations';
import * as m0014 from './0014_reconciliation';
import * as m0015 from './0015_reconcile_cursors';
import * as m0016 from './0016_unsettled_transactions';

/** Forward-only, applied in name order; never edit one that has shipped, add the next. */
export const migrations: Record<string, Migration> = {
  '0001_initial': m0001,
  '0002_outbox_relay': m0002,
  '0003_audit': m0003,
  '0004_raw_query': m0004,
  '0005_signature_header': m0005,
  '0006_fetched_from': m0006,
  '0007_payline_fetches': m0007,
  '0008_ingest_check': m0008,
  '0009_fewer_write_indexes': m0009,
  '0010_wallet': m0010,
  '0011_operators': m0011,
  '0012_paybox_direct': m0012,
  '0013_direct_operations': m0013,
  '0014_reconciliation': m0014,
  '0015_reconcile_cursors': m0015,
  '0016_unsettled_transactions': m0016,
};
