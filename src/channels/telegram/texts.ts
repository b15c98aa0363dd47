/**
 * The channel's own notices (the engine writes everything else). French first, in neutral French (no tu, no
 * vous: young people and professionals both read them), sentences of 20 words at most. No notice quotes what
 * the user sent.
 */
import type { Lang } from '../../engine/index.js';

export interface TelegramTexts {
  flood: string;
  closed: string;
  privateOnly: string;
  nonText: string;
  edited: string;
  /** After /effacer: how many messages of the chat were deleted (the user's and the bot's). */
  eraseDone: (count: number) => string;
  eraseFailed: (count: number) => string;
  eraseAdvice: string;
  reference: string;
  receipt: string;
  copyHint: string;
  /** The only notice sent to an opted-in submitter: it says nothing of the case. */
  newReply: string;
  commands: { command: string; description: string }[];
  /** Above the Mini App button: what the encrypted page protects that this chat does not. */
  miniAppIntro: string;
  miniAppButton: string;
}

export const TEXTS: Record<Lang, TelegramTexts> = {
  fr: {
    miniAppIntro:
      '🔒 Plus discret : répondre dans une page qui s’ouvre ici, dans Telegram. Les réponses y sont chiffrées sur le téléphone avant l’envoi. Elles sont chiffrées pour l’équipe de coordination et ne passent pas par les serveurs de Telegram. Notre serveur ne les voit pas en clair. Dans cette discussion, au contraire, Telegram transmet et peut lire chaque message.',
    miniAppButton: 'Écrire ici en privé (chiffré)',
    flood: 'Trop de messages d’un coup : attendre quelques secondes avant de continuer.',
    closed: 'Cette question est close',
    privateOnly:
      'Je fonctionne seulement en conversation privée : m’écrire directement, en privé. Je quitte ce groupe et je n’en garde rien.',
    nonText:
      'Pour l’instant, je ne lis que le texte. Photos, vocaux, vidéos, autocollants, fichiers, positions et contacts ne sont pas lus, et rien n’en est gardé. Répondre avec des mots ou avec les boutons.',
    edited: 'Les messages modifiés ne sont pas pris en compte : envoyer plutôt un nouveau message.',
    eraseDone: (n) =>
      n === 0
        ? 'Aucun message de cette discussion n’était encore à supprimer.'
        : n === 1
          ? '1 message supprimé dans cette discussion.'
          : `${n} messages supprimés dans cette discussion, envoyés et reçus.`,
    eraseFailed: (n) =>
      n === 1
        ? '1 message n’a pas pu être supprimé : Telegram ne le permet plus après 48 h. Appui long dessus, puis « Supprimer ».'
        : `${n} messages n’ont pas pu être supprimés : Telegram ne le permet plus après 48 h. Appui long sur chacun, puis « Supprimer ».`,
    eraseAdvice:
      'La discussion reste dans la liste de Telegram. Pour l’enlever : appui long sur la discussion, puis « Supprimer ».',
    reference: 'Référence',
    receipt: 'Code secret',
    copyHint: 'Toucher le code pour le copier.',
    newReply: 'Une nouvelle réponse est arrivée. Pour la lire : /suivi suivi du code secret.',
    commands: [
      { command: 'start', description: 'Commencer' },
      { command: 'aide', description: 'Comment ça marche' },
      { command: 'urgence', description: 'Numéros d’urgence' },
      { command: 'effacer', description: 'Effacer cette discussion' },
      { command: 'suivi', description: 'Lire les réponses avec le code secret' },
      { command: 'recommencer', description: 'Reprendre depuis le début' },
      { command: 'langue', description: 'Changer de langue' },
      { command: 'stop', description: 'Arrêter sans rien envoyer' },
    ],
  },
  en: {
    miniAppIntro:
      '🔒 More private: answer in a page that opens here, inside Telegram. Answers are encrypted on the phone before they are sent. They are encrypted for the coordination team and do not go through Telegram’s servers. Our server does not see them in clear. In this chat, by contrast, Telegram carries and can read every message.',
    miniAppButton: 'Write here privately (encrypted)',
    flood: 'Too many messages at once: wait a few seconds before going on.',
    closed: 'This question is closed',
    privateOnly:
      'I only work in a private chat: write to me directly, in private. I am leaving this group and keep nothing from it.',
    nonText:
      'For now I only read text. Photos, voice messages, videos, stickers, files, locations and contacts are not read, and nothing of them is kept. Answer with words or with the buttons.',
    edited: 'Edited messages are not taken into account: please send a new message instead.',
    eraseDone: (n) =>
      n === 0
        ? 'No message of this chat was left to delete.'
        : n === 1
          ? '1 message deleted in this chat.'
          : `${n} messages deleted in this chat, sent and received.`,
    eraseFailed: (n) =>
      n === 1
        ? '1 message could not be deleted: Telegram no longer allows it after 48 hours. Long press on it, then "Delete".'
        : `${n} messages could not be deleted: Telegram no longer allows it after 48 hours. Long press on each, then "Delete".`,
    eraseAdvice:
      'The chat itself stays in Telegram’s list. To remove it: long press on the chat, then "Delete".',
    reference: 'Reference',
    newReply: 'You have a new reply. Send /followup and your secret code to read it.',
    receipt: 'Secret code',
    copyHint: 'Tap the code to copy it.',
    commands: [
      { command: 'start', description: 'Start' },
      { command: 'help', description: 'How it works' },
      { command: 'emergency', description: 'Emergency numbers' },
      { command: 'erase', description: 'Erase this chat' },
      { command: 'followup', description: 'Read the replies with your secret code' },
      { command: 'restart', description: 'Start again from the beginning' },
      { command: 'language', description: 'Change language' },
      { command: 'stop', description: 'Stop without sending anything' },
    ],
  },
};

/** The language of a Telegram `language_code` ("fr", "en-GB"...), else `fallback`. */
export function langOf(languageCode: string | undefined, fallback: Lang): Lang {
  const l = languageCode?.toLowerCase().slice(0, 2);
  return l === 'fr' || l === 'en' ? l : fallback;
}
