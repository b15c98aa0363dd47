/** The submission pipeline's own messages (follow-up answers), in French and English. */
import type { Lang } from '../engine/index.js';

export const FOLLOW_UP = {
  fr: {
    none: 'Aucune réponse pour ce reçu pour le moment. Réessaie plus tard.',
    header: (n: number) =>
      n === 1 ? 'Une réponse de la coordination :' : `${n} réponses de la coordination :`,
    item: (date: string, text: string) => `Le ${date} :\n${text}`,
    throttled: 'Trop d’essais. Attends un peu avant de réessayer.',
    usage: 'Envoie /suivi suivi de ton reçu, par exemple : /suivi ABCD-EFGH-JKMN-PQRS',
  },
  en: {
    none: 'No reply for this receipt yet. Try again later.',
    header: (n: number) =>
      n === 1 ? 'One reply from the coordination team:' : `${n} replies from the coordination team:`,
    item: (date: string, text: string) => `On ${date}:\n${text}`,
    throttled: 'Too many attempts. Wait a little before trying again.',
    usage: 'Send /followup and your receipt, for example: /followup ABCD-EFGH-JKMN-PQRS',
  },
} satisfies Record<Lang, unknown>;

/** A day as `dd/mm/yyyy` (Europe/Paris). */
export function formatDay(date: Date, lang: Lang): string {
  return new Intl.DateTimeFormat(lang === 'fr' ? 'fr-FR' : 'en-GB', {
    timeZone: 'Europe/Paris',
    day: '2-digit',
    month: '2-digit',
    year: 'numeric',
  }).format(date);
}
