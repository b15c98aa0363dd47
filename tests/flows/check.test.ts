import { describe, expect, it } from 'vitest';
import { checkFile, checkFlow, formatDiagnostic, parseFlowText } from '../../src/flows/index.js';
import { FIXTURES } from '../engine/helpers.js';

const dir = `${FIXTURES}check/`;
/** `line step <id>: message` of every diagnostic of a fixture (file name left out for readability). */
const check = (name: string) =>
  checkFile(`${dir}${name}.yaml`).map((d) => formatDiagnostic(d).replace(/^.*?\.yaml:/, ''));

describe('flow checker', () => {
  it('a good flow has no diagnostic', () => {
    expect(checkFile(`${FIXTURES}complete.yaml`)).toEqual([]);
    expect(checkFile(`${FIXTURES}youth-mini.yaml`)).toEqual([]);
  });

  it('schema errors name the line and the step', () => {
    expect(check('schema')).toEqual([
      '12 step a: unknown property "colour"',
      '17 step b: unknown step type "teleport" (one of: message, choice, multi_choice, text, number, date, yes_no, consent, summary, submit, end)',
    ]);
  });

  it('YAML syntax errors', () => {
    const out = check('yaml-syntax');
    expect(out.length).toBeGreaterThan(0);
    expect(out[0]).toMatch(/^1: invalid YAML: /);
  });

  it('unreachable steps', () => {
    expect(check('unreachable')).toEqual(['13 step orphan: step is unreachable from the start step "a"']);
  });

  it('next and decline_goto targets that do not exist', () => {
    expect(check('unknown-target')).toEqual([
      '14 step a: decline_goto goes to unknown step "nowhere"',
      '18 step a: next goes to unknown step "missing"',
    ]);
  });

  it('dead ends (a path that cannot reach submit or end)', () => {
    expect(check('dead-end')).toEqual([
      '16 step b: dead end: no path from this step reaches a submit or end step',
      '20 step c: cycle with no exit: c -> d -> c never reaches a submit or end step',
    ]);
  });

  it('cycles with no exit', () => {
    expect(check('cycle')).toEqual([
      '9 step a: cycle with no exit: a -> b -> a never reaches a submit or end step',
      '17 step z: step is unreachable from the start step "a"',
    ]);
  });

  it('missing translations for a listed language', () => {
    expect(check('translations')).toEqual([
      '11 step a: missing "en" translation of text',
      '16 step a: missing "en" translation of options[1].label',
    ]);
  });

  it('duplicate step ids', () => {
    expect(check('duplicate-step')).toEqual(['13 step a: duplicate step id "a" (first defined on line 9)']);
  });

  it('duplicate option ids', () => {
    expect(check('duplicate-option')).toEqual(['15 step a: duplicate option id "x" (options 1 and 2)']);
  });

  it('conditions referencing unknown steps', () => {
    expect(check('unknown-condition')).toEqual([
      '13 step a: condition in urgency refers to unknown step "ghost"',
      '16 step a: condition in next refers to unknown step "phantom"',
    ]);
  });

  it('conditions that can never match their step', () => {
    expect(check('bad-compare')).toEqual([
      '16 step a: condition in next compares "a" with "y", which is not one of its options (x)',
      '18 step a: condition in next uses lt on "a", which is not a number step',
    ]);
  });

  it('a next list without a default branch', () => {
    expect(check('no-default')).toEqual([
      '13 step a: the last branch of next must have no "if" (it is the default)',
    ]);
  });

  it('a flow id that does not match its file name', () => {
    expect(check('id-mismatch')).toEqual([
      '2: flow id "wrong-id" does not match the file name (expected "id-mismatch")',
    ]);
  });

  it('a missing file is a diagnostic, not an exception', () => {
    expect(check('does-not-exist')).toEqual(['1: file not found']);
  });

  it('condition and next shapes get readable schema messages', () => {
    const text = [
      'id: t',
      'version: 1',
      'kind: youth',
      'languages: [fr]',
      'title: { fr: T }',
      'start: a',
      'steps:',
      '  - id: a',
      '    type: yes_no',
      '    text: { fr: Q }',
      '    next:',
      '      - if: { answer: a }',
      '        goto: z',
      '      - if: { colour: blue }',
      '        goto: z',
      '      - goto: z',
      '  - id: z',
      '    type: end',
    ].join('\n');
    const out = checkFlow(parseFlowText(text, 't.yaml')).map(formatDiagnostic);
    expect(out).toEqual([
      't.yaml:12 step a: next[0].if: condition needs an operator: equals, in, lt, gt or includes',
      't.yaml:14 step a: next[1].if: not a valid condition (use { answer, equals|in|lt|gt|includes }, { answered }, { not }, { and: [...] } or { or: [...] })',
    ]);
  });
});
