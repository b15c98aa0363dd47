import { describe, expect, it } from 'vitest';
import { evaluate, maxUrgency, nextTargets, referencedSteps, resolveNext } from '../../src/engine/index.js';

const answers = { role: 'teacher', age: 14, safe: false, signs: ['money', 'marks'], note: 'x' };

describe('conditions', () => {
  it('equals compares scalars strictly', () => {
    expect(evaluate({ answer: 'role', equals: 'teacher' }, answers)).toBe(true);
    expect(evaluate({ answer: 'role', equals: 'nurse' }, answers)).toBe(false);
    expect(evaluate({ answer: 'safe', equals: false }, answers)).toBe(true);
    expect(evaluate({ answer: 'age', equals: '14' }, answers)).toBe(false);
  });
  it('in checks membership', () => {
    expect(evaluate({ answer: 'role', in: ['nurse', 'teacher'] }, answers)).toBe(true);
    expect(evaluate({ answer: 'role', in: ['nurse'] }, answers)).toBe(false);
  });
  it('lt and gt only hold for numbers', () => {
    expect(evaluate({ answer: 'age', lt: 15 }, answers)).toBe(true);
    expect(evaluate({ answer: 'age', lt: 14 }, answers)).toBe(false);
    expect(evaluate({ answer: 'age', gt: 13 }, answers)).toBe(true);
    expect(evaluate({ answer: 'age', gt: 14 }, answers)).toBe(false);
    expect(evaluate({ answer: 'note', lt: 100 }, answers)).toBe(false);
  });
  it('includes looks inside a multiple choice', () => {
    expect(evaluate({ answer: 'signs', includes: 'marks' }, answers)).toBe(true);
    expect(evaluate({ answer: 'signs', includes: 'runaway' }, answers)).toBe(false);
    expect(evaluate({ answer: 'role', includes: 'teacher' }, answers)).toBe(false);
  });
  it('answered tells whether a step has an answer', () => {
    expect(evaluate({ answered: 'safe' }, answers)).toBe(true);
    expect(evaluate({ answered: 'missing' }, answers)).toBe(false);
  });
  it('an unanswered step makes every comparison false', () => {
    expect(evaluate({ answer: 'missing', equals: 'x' }, answers)).toBe(false);
    expect(evaluate({ answer: 'missing', lt: 1 }, answers)).toBe(false);
  });
  it('not, and, or combine', () => {
    expect(evaluate({ not: { answer: 'safe', equals: true } }, answers)).toBe(true);
    expect(
      evaluate(
        {
          and: [
            { answer: 'age', lt: 15 },
            { answer: 'role', equals: 'teacher' },
          ],
        },
        answers,
      ),
    ).toBe(true);
    expect(
      evaluate(
        {
          and: [
            { answer: 'age', lt: 15 },
            { answer: 'role', equals: 'nurse' },
          ],
        },
        answers,
      ),
    ).toBe(false);
    expect(
      evaluate(
        {
          or: [
            { answer: 'age', gt: 15 },
            { answer: 'role', equals: 'teacher' },
          ],
        },
        answers,
      ),
    ).toBe(true);
    expect(
      evaluate(
        {
          or: [
            { answer: 'age', gt: 15 },
            { answer: 'role', equals: 'nurse' },
          ],
        },
        answers,
      ),
    ).toBe(false);
  });
  it('resolveNext takes the first branch that holds, else the default', () => {
    const next = [
      { if: { answer: 'age', gt: 18 }, goto: 'adult' },
      { if: { answer: 'age', lt: 15 }, goto: 'young' },
      { goto: 'other' },
    ];
    expect(resolveNext(next, answers)).toBe('young');
    expect(resolveNext(next, { age: 16 })).toBe('other');
    expect(resolveNext('plain', answers)).toBe('plain');
    expect(resolveNext([{ if: { answered: 'nope' }, goto: 'x' }], answers)).toBeUndefined();
    expect(nextTargets(next)).toEqual(['adult', 'young', 'other']);
  });
  it('maxUrgency keeps the highest level', () => {
    expect(maxUrgency('normal', 'high')).toBe('high');
    expect(maxUrgency('immediate', 'high')).toBe('immediate');
    expect(maxUrgency('high', 'normal')).toBe('high');
  });
  it('referencedSteps lists every step a condition reads', () => {
    expect(referencedSteps({ and: [{ answered: 'a' }, { not: { answer: 'b', equals: 1 } }] })).toEqual([
      'a',
      'b',
    ]);
  });
});
