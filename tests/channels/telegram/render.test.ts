// Rendering engine replies for Telegram: escaping, callback data within 64 bytes, keyboards, the receipt.
import { describe, expect, it } from 'vitest';
import {
  CALLBACK_DATA_MAX_BYTES,
  decodePress,
  encodeChoice,
  escapeHtml,
  oneMessageWhereItFits,
  renderReply,
  shortCode,
  splitText,
} from '../../../src/channels/telegram/render.js';

describe('telegram rendering', () => {
  it("joins a turn's texts to the message after them, never the emergency numbers, never after a receipt", () => {
    const question = {
      type: 'choices' as const,
      stepId: 'safety',
      text: 'Es-tu en sécurité maintenant ?',
      multi: false,
      options: [{ id: 'safe', label: 'Oui' }],
    };
    const shown = (replies: Parameters<typeof oneMessageWhereItFits>[0]) =>
      oneMessageWhereItFits(replies, 'fr').map(({ message }) => ({
        html: message.html,
        buttons: (message.keyboard ?? []).flat().length,
      }));
    // The welcome and the question: one message, the buttons under both.
    expect(shown([{ type: 'text', text: 'Salut.' }, question])).toEqual([
      { html: 'Salut.\n\nEs-tu en sécurité maintenant ?', buttons: 1 },
    ]);
    // The emergency numbers stand alone, before and after.
    const emergency = {
      type: 'emergency' as const,
      title: 'Urgence',
      lines: [{ number: '17', label: 'Police' }],
    };
    const alone = shown([
      { type: 'text', text: 'Avant.' },
      emergency,
      { type: 'text', text: 'Après.' },
      question,
    ]);
    expect(alone.map((m) => m.html.split('\n\n')[0])).toEqual(['Avant.', '🚨 <b>Urgence</b>', 'Après.']);
    expect(alone).toHaveLength(3);
    // "Sending…" joins the receipt; the end message (its "Effacer" button) comes apart, after the code.
    const end = shown([
      { type: 'text', text: 'J’envoie ton message…' },
      { type: 'receipt', reference: 'R-ABCDEF', receipt: 'AAAA-BBBB-CCCC-DDDD', text: 'Envoyé.' },
      { type: 'text', text: 'Appelle le 119.' },
      {
        type: 'choices',
        stepId: 'end',
        text: '',
        multi: false,
        options: [{ id: '$erase', label: 'Effacer' }],
      },
    ]);
    expect(end).toHaveLength(2);
    expect(end[0]!.html).toMatch(/^J’envoie ton message…\n\nEnvoyé\.[\s\S]*AAAA-BBBB-CCCC-DDDD/);
    expect(end[1]!.html).toMatch(/^Appelle le 119\./);
    // Nothing joined past Telegram's limit: two long texts stay two messages.
    const long = 'x'.repeat(2_000);
    expect(
      shown([
        { type: 'text', text: long },
        { type: 'text', text: long },
      ]),
    ).toHaveLength(2);
  });

  it('escapes HTML in every text', () => {
    expect(escapeHtml('<b>a & b</b>')).toBe('&lt;b&gt;a &amp; b&lt;/b&gt;');
    const [m] = renderReply({ type: 'text', text: '1 < 2 & <script>' }, 'fr');
    expect(m!.html).toBe('1 &lt; 2 &amp; &lt;script&gt;');
  });

  it('callback data: s:<step>:<option> within 64 bytes, else a short code; decoding round-trips', () => {
    expect(encodeChoice('summary:change', 'age')).toEqual({ data: 's:summary:change:age' });
    expect(decodePress('s:summary:change:age')).toEqual({
      kind: 'choice',
      stepId: 'summary:change',
      optionId: 'age',
    });
    expect(decodePress('s:what_me:$done')).toEqual({ kind: 'choice', stepId: 'what_me', optionId: '$done' });
    const long = encodeChoice('é'.repeat(30), 'option_with_a_long_identifier');
    expect(long.short).toBe(shortCode('é'.repeat(30), 'option_with_a_long_identifier'));
    expect(Buffer.byteLength(long.data)).toBeLessThanOrEqual(CALLBACK_DATA_MAX_BYTES);
    expect(decodePress(long.data)).toEqual({ kind: 'short', code: long.short });
    for (const junk of [undefined, '', 'n', 's:', 's:x', 's:x:', 'zzz', 'x:'])
      expect(decodePress(junk)).toEqual({ kind: 'closed' });
  });

  it('choices: one button per row, ✓ on ticked options of a multiple choice', () => {
    const [m] = renderReply(
      {
        type: 'choices',
        stepId: 'help',
        text: 'Qu’est-ce qui aiderait ?',
        multi: true,
        options: [
          { id: 'talk', label: 'Parler', selected: true },
          { id: 'info', label: 'Infos', selected: false },
          { id: '$done', label: 'Valider' },
        ],
      },
      'fr',
    );
    expect(m!.keyboard).toEqual([
      [{ text: '✓ Parler', callback_data: 's:help:talk' }],
      [{ text: 'Infos', callback_data: 's:help:info' }],
      [{ text: 'Valider', callback_data: 's:help:$done' }],
    ]);
  });

  it('the receipt puts reference and code in <code> (one tap copies them)', () => {
    const [m] = renderReply(
      { type: 'receipt', reference: 'R-7KQ2MX', receipt: 'ABCD-EFGH', text: 'Envoyé <ok>' },
      'fr',
    );
    expect(m!.html).toContain('Envoyé &lt;ok&gt;');
    expect(m!.html).toContain('Référence : <code>R-7KQ2MX</code>');
    expect(m!.html).toContain('Code secret : <code>ABCD-EFGH</code>');
  });

  it('the emergency card: bold title and numbers, one per line', () => {
    const [m] = renderReply(
      {
        type: 'emergency',
        title: 'Urgence',
        lines: [
          { number: '17', label: 'Police' },
          { number: '119', label: 'Enfance' },
        ],
      },
      'fr',
    );
    expect(m!.html.split('\n')).toEqual([
      '🚨 <b>Urgence</b>',
      '',
      '📞 <b>17</b> · Police',
      '📞 <b>119</b> · Enfance',
    ]);
  });

  it('long texts are split under the 4096-character limit', () => {
    const pieces = splitText(`${'mot '.repeat(2000)}`);
    expect(pieces.length).toBeGreaterThan(1);
    for (const p of pieces) expect(p.length).toBeLessThanOrEqual(3800);
  });
});
