import { describe, expect, it } from 'vitest';
import { flowDiagram } from '../../src/flows/index.js';
import { youthMini } from '../engine/helpers.js';

describe('flowDiagram', () => {
  it('draws one node per step and one edge per transition, with conditions as labels', () => {
    expect(flowDiagram(youthMini())).toBe(
      [
        'flowchart TD',
        '  start_(( )) --> s_safety',
        '  s_safety[/"safety: Es-tu en sécurité ?"/]',
        '  s_card["card: Appelle le 17."]',
        '  s_story[/"story: Raconte."/]',
        '  s_send[("send (submit)")]',
        '  s_done(["done: Merci."])',
        '  s_safety -->|"safety = false"| s_card',
        '  s_safety -->|"otherwise"| s_story',
        '  s_card --> s_story',
        '  s_story --> s_send',
        '  s_send --> s_done',
        '',
      ].join('\n'),
    );
  });
  it('uses the requested language, escapes quotes and never uses a bare reserved word as a node id', () => {
    const flow = youthMini();
    const text = flowDiagram(
      {
        ...flow,
        steps: flow.steps.map((s) =>
          s.id === 'done' ? { ...s, id: 'end' } : s.id === 'send' ? { ...s, next: 'end' } : s,
        ),
      },
      { lang: 'en' },
    );
    expect(text).toContain('s_safety[/"safety: Are you safe?"/]');
    expect(text).toContain('s_end(["end: Thanks."])');
    expect(text).not.toMatch(/^\s+end\b/m);
    const quoted = flowDiagram({
      ...flow,
      steps: flow.steps.map((s) => (s.id === 'card' ? { ...s, text: { fr: 'Dis "stop"' } } : s)),
    });
    expect(quoted).toContain('s_card["card: Dis #quot;stop#quot;"]');
  });
});
