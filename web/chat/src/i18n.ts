/** The page's own words (the conversation's words come from the engine and the flow). */
import type { Lang } from '../../../src/engine/index.js';

export const UI = {
  fr: {
    exit: 'Quitter',
    close: 'Fermer',
    exitHint: 'Quitter : efface tout et ouvre un autre site. Touche Échap deux fois : pareil.',
    help: 'Aide',
    emergency: 'Urgence',
    send: 'Envoyer',
    answer: 'Ta réponse',
    loading: 'Chargement…',
    sending: 'Envoi chiffré en cours…',
    failed: 'Impossible de charger la page. Réessaie plus tard, ou appelle le 119.',
    receiptTitle: 'Ton code secret',
    reference: 'Référence',
    conversation: 'Conversation',
    selected: 'choisi',
    followUpSoon:
      'Lire une réponse avec un code arrive bientôt sur cette page. En attendant, envoie /suivi et ton code dans la discussion Telegram.',
    privacy: 'Tes réponses sont chiffrées sur cet appareil avant d’être envoyées.',
  },
  en: {
    exit: 'Leave',
    close: 'Close',
    exitHint: 'Leave: forgets everything and opens another site. Escape twice does the same.',
    help: 'Help',
    emergency: 'Emergency',
    send: 'Send',
    answer: 'Your answer',
    loading: 'Loading…',
    sending: 'Sending, encrypted…',
    failed: 'The page could not load. Try again later, or call 119.',
    receiptTitle: 'Your secret code',
    reference: 'Reference',
    conversation: 'Conversation',
    selected: 'selected',
    followUpSoon:
      'Reading a reply with a code is coming to this page soon. Meanwhile, send /followup and your code in the Telegram chat.',
    privacy: 'Your answers are encrypted on this device before they are sent.',
  },
} satisfies Record<Lang, Record<string, string>>;

export type UiTexts = (typeof UI)['fr'];
