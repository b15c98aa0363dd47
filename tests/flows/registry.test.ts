import { describe, expect, it } from 'vitest';
import { FlowError, FlowRegistry, flowFiles, loadFlowFile } from '../../src/flows/index.js';
import { FIXTURES } from '../engine/helpers.js';

describe('FlowRegistry', () => {
  const registry = FlowRegistry.load({ dir: `${FIXTURES}registry`, defaultFlow: 'youth-mini' });

  it('loads current and archived versions', () => {
    expect(flowFiles(`${FIXTURES}registry`).map((f) => f.replace(/^.*registry\//, ''))).toEqual([
      'complete.yaml',
      'youth-mini.yaml',
      'archive/youth-mini.v1.yaml',
    ]);
    expect(registry.versions('youth-mini')).toEqual([1, 2]);
    expect(registry.get('youth-mini', 1)?.version).toBe(1);
    expect(registry.get('youth-mini', 3)).toBeUndefined();
    expect(registry.latest('youth-mini')?.version).toBe(2);
    expect(registry.list().map((f) => f.id)).toEqual(['complete', 'youth-mini']);
  });

  it('selects a flow by /start payload (id or alias, any case) and has a default', () => {
    expect(registry.byAlias('ESSAI')?.id).toBe('complete');
    expect(registry.byAlias('pro_test')?.id).toBe('complete');
    expect(registry.byAlias('jeune')?.id).toBe('youth-mini');
    expect(registry.byAlias('youth-mini')?.version).toBe(2);
    expect(registry.byAlias('nope')).toBeUndefined();
    expect(registry.byAlias(undefined)).toBeUndefined();
    expect(registry.default().id).toBe('youth-mini');
  });

  it('refuses duplicate versions, clashing aliases and a missing default', () => {
    const v2 = registry.latest('youth-mini');
    const other = registry.latest('complete');
    if (!v2 || !other) throw new Error('fixtures missing');
    expect(() => new FlowRegistry([v2, v2])).toThrow('flow "youth-mini" version 2 is defined twice');
    expect(() => new FlowRegistry([v2, { ...other, aliases: ['jeune'] }])).toThrow(
      'alias "jeune" selects both "youth-mini" and "complete"',
    );
    expect(() => new FlowRegistry([v2], 'youth')).toThrow('default flow "youth" is not loaded');
  });

  it('refuses a folder with a broken flow, listing every problem', () => {
    try {
      FlowRegistry.load({ dir: `${FIXTURES}check` });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(FlowError);
      expect((err as FlowError).message).toContain(
        'check/unreachable.yaml:13 step orphan: step is unreachable',
      );
      expect((err as FlowError).diagnostics.length).toBeGreaterThan(10);
    }
  });

  it('loadFlowFile checks the archive file name against the version', () => {
    expect(loadFlowFile(`${FIXTURES}registry/archive/youth-mini.v1.yaml`).version).toBe(1);
  });

  it('loads the project flows', () => {
    const project = FlowRegistry.load();
    expect(project.default().id).toBe('youth');
  });
});
