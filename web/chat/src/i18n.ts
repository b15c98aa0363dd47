/** The page's own words (the conversation's words come from the engine and the flow). */
import type { Lang } from '../../../src/engine/index.js';

export const UI = {
  fr: {
    exit: 'Quitter',
    close: 'Fermer',
    hide: 'Masquer',
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
    haveCode: "J'ai déjà un code",
    codeTitle: 'Lire les réponses avec ton code',
    codeLabel: 'Ton code secret (16 caractères, par exemple ABCD-EFGH-JKMN-PQRS)',
    codeHint: 'Le code ne quitte pas cet appareil : seule une empreinte est envoyée.',
    readReplies: 'Lire les réponses',
    reading: 'Recherche des réponses…',
    noReply: 'Pas encore de réponse pour ce code. Reviens dans quelques jours.',
    invalidCode: 'Ce code n’a pas la bonne forme : 16 caractères, par exemple ABCD-EFGH-JKMN-PQRS.',
    throttled: 'Trop d’essais pour le moment. Réessaie plus tard.',
    unavailable: 'Impossible de lire les réponses maintenant. Réessaie plus tard.',
    replyOn: 'Réponse du',
    answerTitle: 'Écrire à l’équipe',
    answerLabel: 'Ton message',
    answerHint:
      'Ton message est chiffré sur cet appareil pour l’équipe. Elle lit du lundi au vendredi. En danger : appelle le 17, ou envoie un SMS au 114.',
    answerCheck: 'Vérifie ton code : s’il est faux, personne ne recevra ton message.',
    answerSend: 'Envoyer le message',
    answerSent: 'Message envoyé. Reviens plus tard avec ton code pour lire la réponse.',
    answerFailed: 'Le message n’est pas parti. Réessaie plus tard.',
    privacy: 'Tes réponses sont chiffrées sur cet appareil avant d’être envoyées.',
  },
  en: {
    exit: 'Leave',
    close: 'Close',
    hide: 'Hide',
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
    haveCode: 'I already have a code',
    codeTitle: 'Read the replies with your code',
    codeLabel: 'Your secret code (16 characters, for example ABCD-EFGH-JKMN-PQRS)',
    codeHint: 'The code never leaves this device: only a fingerprint of it is sent.',
    readReplies: 'Read the replies',
    reading: 'Looking for replies…',
    noReply: 'No reply for this code yet. Come back in a few days.',
    invalidCode: 'This code does not look right: 16 characters, for example ABCD-EFGH-JKMN-PQRS.',
    throttled: 'Too many attempts for now. Try again later.',
    unavailable: 'The replies cannot be read right now. Try again later.',
    replyOn: 'Reply of',
    answerTitle: 'Write to the team',
    answerLabel: 'Your message',
    answerHint:
      'Your message is encrypted on this device for the team. It reads messages Monday to Friday. In danger: call 17, or text 114.',
    answerCheck: 'Check your code: if it is wrong, nobody will get your message.',
    answerSend: 'Send the message',
    answerSent: 'Message sent. Come back later with your code to read the reply.',
    answerFailed: 'The message was not sent. Try again later.',
    privacy: 'Your answers are encrypted on this device before they are sent.',
  },
} satisfies Record<Lang, Record<string, string>>;

export type UiTexts = (typeof UI)['fr'];

/** French for professionals: the same words in the vouvoiement the professional flow uses. */
const VOUS_FR: Partial<UiTexts> = {
  answer: 'Votre réponse',
  failed: 'Impossible de charger la page. Réessayez plus tard. En cas de danger, appelez le 17.',
  receiptTitle: 'Votre code secret',
  codeTitle: 'Lire les réponses avec votre code',
  codeLabel: 'Votre code secret (16 caractères, par exemple ABCD-EFGH-JKMN-PQRS)',
  noReply: 'Pas encore de réponse pour ce code. Revenez dans quelques jours.',
  throttled: 'Trop d’essais pour le moment. Réessayez plus tard.',
  unavailable: 'Impossible de lire les réponses maintenant. Réessayez plus tard.',
  privacy: 'Vos réponses sont chiffrées sur cet appareil avant d’être envoyées.',
  answerTitle: 'Écrire à la coordination',
  answerLabel: 'Votre message',
  answerHint:
    'Votre message est chiffré sur cet appareil pour la coordination. Elle le lit du lundi au vendredi. En cas de danger, appelez le 17.',
  answerCheck: 'Vérifiez votre code : s’il est faux, personne ne recevra votre message.',
  answerSent: 'Message envoyé. Revenez plus tard avec votre code pour lire la réponse.',
  answerFailed: 'Le message n’est pas parti. Réessayez plus tard.',
};

/**
 * The page's words for a language and an audience: tutoiement for young people (and before the flow is
 * known), vouvoiement for professionals, as in the flows.
 */
export function uiTexts(lang: Lang, kind?: 'youth' | 'professional'): UiTexts {
  return lang === 'fr' && kind === 'professional' ? { ...UI.fr, ...VOUS_FR } : UI[lang];
}
