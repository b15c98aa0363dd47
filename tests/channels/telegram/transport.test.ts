import { describe, expect, it } from 'vitest';
import { callBody } from '../../../src/channels/telegram/transport.js';

describe('lean Bot API transport: the JSON body', () => {
  it('drops null fields at any depth, as telegraf does, and sends everything else as is', () => {
    const plain = {
      chat_id: 42,
      text: 'Bonjour',
      reply_markup: { inline_keyboard: [[{ text: 'Oui', callback_data: 's:1' }]] },
      skipped: undefined,
    };
    expect(JSON.parse(callBody(plain).toString('utf8'))).toEqual({
      chat_id: 42,
      text: 'Bonjour',
      reply_markup: { inline_keyboard: [[{ text: 'Oui', callback_data: 's:1' }]] },
    });
    const withNulls = {
      chat_id: 42,
      parse_mode: null,
      reply_markup: { inline_keyboard: [[{ text: 'Non', callback_data: null, url: 'https://x' }]] },
    };
    expect(JSON.parse(callBody(withNulls).toString('utf8'))).toEqual({
      chat_id: 42,
      reply_markup: { inline_keyboard: [[{ text: 'Non', url: 'https://x' }]] },
    });
  });
});
