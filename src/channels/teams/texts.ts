/** What the Teams channel says itself (the engine says everything else), in French and English. */
import type { Lang, Urgency } from '../../engine/index.js';

const URGENCY: Record<Lang, Record<Urgency, string>> = {
  fr: { immediate: 'immédiate', high: 'élevée', normal: 'normale' },
  en: { immediate: 'immediate', high: 'high', normal: 'normal' },
};

export const TEAMS_TEXTS = {
  fr: {
    welcome:
      "Bonjour. Ce service transmet une inquiétude concernant un ou une mineure à la coordination du protocole de Seine-Saint-Denis. Vous pouvez commencer quand vous voulez ; tapez /urgence à tout moment pour les numéros d'urgence.",
    chooseFlow: 'Vous êtes :',
    flowProfessional: 'Un ou une professionnelle',
    flowYouth: "Un ou une jeune qui a besoin d'aide",
    groupRefusal:
      "Je ne fonctionne qu'en conversation privée (1:1), pour que personne d'autre ne lise ce qui est confié. Ouvrez une conversation avec moi depuis la liste des applications. Je ne garde rien de cette conversation de groupe.",
    badSubmit: "Ce bouton n'est pas reconnu. Voici la question en cours :",
    linked: 'Compte lié : vous recevrez ici un avis (sans contenu) pour chaque nouveau cas de vos boîtes.',
    linkRefused:
      'Code invalide ou expiré. Demandez un nouveau code avec `intake teams link --login <votre identifiant>`.',
    linkThrottled: 'Trop de tentatives. Réessayez dans quelques minutes.',
    linkTooLong:
      "Cette conversation ne peut pas être liée (référence trop longue). Prévenez l'administrateur.",
    noticeOne: (reference: string, inbox: string, urgency: Urgency) =>
      `Nouveau cas ${reference} dans la boîte ${inbox}, urgence : ${URGENCY.fr[urgency]}`,
    noticeMany: (inbox: string, items: { reference: string; urgency: Urgency }[]) =>
      `${items.length} nouveaux cas dans la boîte ${inbox} : ${items
        .map((i) => `${i.reference} (urgence : ${URGENCY.fr[i.urgency]})`)
        .join(', ')}`,
    noticeMessages: (inbox: string, references: string[]) =>
      references.length === 1
        ? `Nouveau message de la personne sur le cas ${references[0]} (boîte ${inbox}), à lire dans la boîte`
        : `Nouveaux messages des personnes sur les cas ${references.join(', ')} (boîte ${inbox}), à lire dans la boîte`,
    typeNumber: 'Répondez avec un bouton, ou tapez le numéro :',
    eraseDone: (n: number) =>
      n === 0
        ? 'Aucun message du bot n’était encore à supprimer ici.'
        : n === 1
          ? '1 message du bot supprimé dans cette conversation.'
          : `${n} messages du bot supprimés dans cette conversation.`,
    eraseFailed: (n: number) =>
      n === 1
        ? '1 message du bot n’a pas pu être supprimé.'
        : `${n} messages du bot n’ont pas pu être supprimés.`,
    eraseLimits:
      'Teams ne permet pas à un bot de supprimer les messages écrits de l’autre côté. Pour les supprimer : survoler le message, « … », puis « Supprimer ». La conversation reste dans la liste : clic droit dessus, puis « Masquer ».',
    reference: 'Référence',
    receipt: 'Code secret (reçu)',
    dialogIntro:
      'Plus confidentiel : répondre dans une fenêtre qui s’ouvre ici, dans Teams. Les réponses y sont chiffrées sur votre appareil avant l’envoi, pour l’équipe de coordination. Elles ne passent pas par les serveurs de Microsoft, et notre serveur ne les voit pas en clair. Dans cette conversation, au contraire, Microsoft transmet et peut lire chaque message.',
    dialogButton: 'Répondre dans une fenêtre chiffrée',
    dialogTitle: 'Signalement chiffré',
    dialogUnavailable:
      'La fenêtre chiffrée n’est pas disponible pour le moment. Vous pouvez continuer dans cette conversation.',
  },
  en: {
    welcome:
      'Hello. This service passes a concern about a minor on to the coordination of the Seine-Saint-Denis protocol. Start whenever you like; type /emergency at any time for emergency numbers.',
    chooseFlow: 'You are:',
    flowProfessional: 'A professional',
    flowYouth: 'A young person who needs help',
    groupRefusal:
      'I only work in a private (1:1) chat, so that nobody else reads what is shared. Open a chat with me from the apps list. I keep nothing from this group conversation.',
    badSubmit: 'This button is not recognised. Here is the current question:',
    linked: 'Account linked: you will get a notice here (without content) for each new case in your inboxes.',
    linkRefused: 'Invalid or expired code. Ask for a new one with `intake teams link --login <your login>`.',
    linkThrottled: 'Too many attempts. Try again in a few minutes.',
    linkTooLong: 'This conversation cannot be linked (reference too long). Tell the administrator.',
    noticeOne: (reference: string, inbox: string, urgency: Urgency) =>
      `New case ${reference} in inbox ${inbox}, urgency: ${URGENCY.en[urgency]}`,
    noticeMany: (inbox: string, items: { reference: string; urgency: Urgency }[]) =>
      `${items.length} new cases in inbox ${inbox}: ${items
        .map((i) => `${i.reference} (urgency: ${URGENCY.en[i.urgency]})`)
        .join(', ')}`,
    noticeMessages: (inbox: string, references: string[]) =>
      references.length === 1
        ? `New message from the person on case ${references[0]} (inbox ${inbox}), to read in the inbox`
        : `New messages from the people on cases ${references.join(', ')} (inbox ${inbox}), to read in the inbox`,
    typeNumber: 'Answer with a button, or type the number:',
    eraseDone: (n: number) =>
      n === 0
        ? 'No message of the bot was left to delete here.'
        : n === 1
          ? '1 message of the bot deleted in this chat.'
          : `${n} messages of the bot deleted in this chat.`,
    eraseFailed: (n: number) =>
      n === 1
        ? '1 message of the bot could not be deleted.'
        : `${n} messages of the bot could not be deleted.`,
    eraseLimits:
      'Teams does not let a bot delete the messages written on the other side. To delete them: hover over the message, "…", then "Delete". The chat stays in the list: right-click it, then "Hide".',
    reference: 'Reference',
    receipt: 'Secret code (receipt)',
    dialogIntro:
      'More private: answer in a window that opens here, in Teams. Answers are encrypted on your device before they are sent, for the coordination team. They do not go through Microsoft’s servers, and our server does not see them in clear. In this chat, by contrast, Microsoft carries and can read every message.',
    dialogButton: 'Answer in an encrypted window',
    dialogTitle: 'Encrypted report',
    dialogUnavailable: 'The encrypted window is not available right now. You can go on in this chat.',
  },
} as const;

/** Picks the language from a Teams locale ("fr-FR", "en-US"...), else `fallback`. */
export function langOf(locale: string | undefined, fallback: Lang): Lang {
  const l = (locale ?? '').toLowerCase();
  if (l.startsWith('fr')) return 'fr';
  if (l.startsWith('en')) return 'en';
  return fallback;
}
