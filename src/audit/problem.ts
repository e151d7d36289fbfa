import type { Response } from 'express';

/** An RFC 9457 problem: `type`, `title`, `status`, `detail`, and extension members. */
export interface Problem {
  type?: string;
  title: string;
  status: number;
  detail: string;
  [extension: string]: unknown;
}

export class ProblemError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail);
  }
}

export function sendProblem(res: Response, problem: Problem): void {
  res
    .status(problem.status)
    .type('application/problem+json')
    .send(JSON.stringify({ type: 'about:blank', ...problem }));
}

export const invalidParameter = (parameter: string, reason: string) =>
  new ProblemError({ title: 'Invalid request', status: 400, detail: `${parameter}: ${reason}`, invalidParams: [{ name: parameter, reason }] });

export const notFound = (what: string) => new ProblemError({ title: 'Not found', status: 404, detail: `${what} not found` });

export const conflict = (detail: string) => new ProblemError({ title: 'Conflict', status: 409, detail });
