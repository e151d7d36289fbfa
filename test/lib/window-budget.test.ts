import { WindowBudget } from '../../src/lib/window-budget';

describe('WindowBudget', () => {
  it('records the first calls of each source in a window, then none, and starts again in the next window', () => {
    let now = 0;
    const budget = new WindowBudget(3, 5, 60_000, () => now);
    expect([1, 2, 3, 4].map(() => budget.take('10.0.0.1'))).toEqual([true, true, true, false]);
    expect([1, 2, 3].map(() => budget.take('10.0.0.2'))).toEqual([true, true, false]); // global ceiling of 5
    now = 60_000;
    expect(budget.take('10.0.0.1')).toBe(true);
    expect(budget.take('10.0.0.2')).toBe(true);
  });
});
