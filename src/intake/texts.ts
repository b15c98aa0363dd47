/** The submission pipeline's own messages (follow-up answers), in French and English. */
import type { Lang } from '../engine/index.js';

/**
 * Who the follow-up answer speaks to: "tu" in a young person's conversation, "vous" in a professional's,
 * `neutral` (no tu, no vous) when the conversation's audience is unknown.
 */
export type FollowUpRegister = 'tu' | 'vous' | 'neutral';

export interface FollowUpTexts {
  /** An unknown code and a report without replies get this same answer. */
  none: string;
  header: (n: number) => string;
  item: (date: string, text: string) => string;
  throttled: string;
  usage: string;
}

const HEADER_FR = (n: number) =>
  n === 1 ? 'Une réponse de la coordination :' : `${n} réponses de la coordination :`;
const ITEM_FR = (date: string, text: string) => `Le ${date} :\n${text}`;
const EXAMPLE = 'ABCD-EFGH-JKMN-PQRS';

const EN: FollowUpTexts = {
  none: 'No reply for this code yet. Try again later.',
  header: (n) =>
    n === 1 ? 'One reply from the coordination team:' : `${n} replies from the coordination team:`,
  item: (date, text) => `On ${date}:\n${text}`,
  throttled: 'Too many attempts. Wait a little before trying again.',
  usage: `Send /followup and your secret code, for example: /followup ${EXAMPLE}`,
};

export const FOLLOW_UP: Record<Lang, Record<FollowUpRegister, FollowUpTexts>> = {
  fr: {
    tu: {
      none: 'Aucune réponse pour ce code pour le moment. Réessaie plus tard.',
      header: HEADER_FR,
      item: ITEM_FR,
      throttled: 'Trop d’essais. Attends un peu avant de réessayer.',
      usage: `Envoie /suivi suivi de ton code secret, par exemple : /suivi ${EXAMPLE}`,
    },
    vous: {
      none: 'Aucune réponse pour ce code pour le moment. Réessayez plus tard.',
      header: HEADER_FR,
      item: ITEM_FR,
      throttled: 'Trop d’essais. Attendez un peu avant de réessayer.',
      usage: `Envoyez /suivi suivi de votre code secret, par exemple : /suivi ${EXAMPLE}`,
    },
    neutral: {
      none: 'Aucune réponse pour ce code pour le moment. Réessayer plus tard.',
      header: HEADER_FR,
      item: ITEM_FR,
      throttled: 'Trop d’essais. Attendre un peu avant de réessayer.',
      usage: `Pour lire les réponses : /suivi suivi du code secret, par exemple : /suivi ${EXAMPLE}`,
    },
  },
  // English has no tu/vous: one plain text for everyone.
  en: { tu: EN, vous: EN, neutral: EN },
};

/** A day as `dd/mm/yyyy` (Europe/Paris). */
export function formatDay(date: Date, lang: Lang): string {
  return new Intl.DateTimeFormat(lang === 'fr' ? 'fr-FR' : 'en-GB', {
    timeZone: 'Europe/Paris',
    day: '2-digit',
    month: '2-digit',
    year: 'numeric',
  }).format(date);
}
