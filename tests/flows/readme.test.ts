import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FlowRegistry, flowDiagram } from '../../src/flows/index.js';
import { ROOT_DIR } from '../../src/paths.js';

describe('README flow diagrams', () => {
  it('show the current flows (regenerate with `npx intake flows diagram <flow>`)', () => {
    const readme = readFileSync(join(ROOT_DIR, 'README.md'), 'utf8');
    const registry = FlowRegistry.load();
    for (const id of ['youth', 'professional']) {
      const flow = registry.latest(id)!;
      expect(readme, `diagram of ${id}`).toContain(`\`\`\`mermaid\n${flowDiagram(flow).trimEnd()}\n\`\`\``);
    }
  });
});
