/** The reply deadline passed before the write committed: nothing is written, the platform is told 503 and retries. */
export class DeadlineExceededError extends Error {
  constructor() {
    super('reply deadline reached before commit');
  }
}

/** A refund whose payment this service has not recorded yet: nothing is written, the retry will apply it. */
export class OrderNotKnownError extends Error {}
