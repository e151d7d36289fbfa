import fc from 'fast-check';

/** A card number of 12 to 18 digits after its leading 4 that passes the Luhn check, as a real one does. */
export const cardNumber = (minLength = 11, maxLength = 17) =>
  fc.array(fc.integer({ min: 0, max: 9 }), { minLength, maxLength }).map((digits) => {
    const body = [4, ...digits];
    let sum = 0;
    for (let i = 0; i < body.length; i++) {
      let d = body[body.length - 1 - i] as number;
      if (i % 2 === 0) {
        d *= 2;
        if (d > 9) d -= 9;
      }
      sum += d;
    }
    return [...body, (10 - (sum % 10)) % 10].join('');
  });
