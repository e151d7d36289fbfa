import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

// A per-process key: comparing HMACs of both strings gives equal-length buffers whatever the
// inputs, so a wrong value of the right length and one of the wrong length take the same path.
const COMPARE_KEY = randomBytes(32);

export function constantTimeEqual(a: string, b: string): boolean {
  const digestA = createHmac('sha256', COMPARE_KEY).update(a, 'utf8').digest();
  const digestB = createHmac('sha256', COMPARE_KEY).update(b, 'utf8').digest();
  return timingSafeEqual(digestA, digestB);
}
