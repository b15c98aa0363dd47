/**
 * Shared checks for the fuzz suites: an answer is never a 5xx, and a 4xx says why (a JSON body with a
 * message or an error code). Case counts add up to more than 10,000 per run (see each suite).
 */
import { expect } from 'vitest';

export function expectClear4xxOr2xx(res: { statusCode: number; body: string }, what: string) {
  if (res.statusCode >= 500)
    throw new Error(`${what}: answered ${res.statusCode}: ${res.body.slice(0, 300)}`);
  expect(res.statusCode, what).toBeGreaterThanOrEqual(200);
  if (res.statusCode >= 400) {
    let parsed: Record<string, unknown> | undefined;
    try {
      parsed = JSON.parse(res.body) as Record<string, unknown>;
    } catch {
      throw new Error(`${what}: ${res.statusCode} without a JSON reason: ${res.body.slice(0, 200)}`);
    }
    const reason = parsed?.message ?? parsed?.error ?? parsed?.description;
    if (typeof reason !== 'string' || reason.length === 0)
      throw new Error(`${what}: ${res.statusCode} without a reason: ${res.body.slice(0, 200)}`);
  }
}

/** Fixed seed per run unless FUZZ_SEED is set (a failure prints the seed and path to replay it). */
export const fuzzSeed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;
