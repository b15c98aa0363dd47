/**
 * The engine's own words (everything that is not written in a flow file): labels of the built-in buttons,
 * re-prompts, help, the emergency card, notices. One table per language and per register: youth flows use
 * tutoiement ("tu"), professional flows vouvoiement ("vous").
 */
import { cardLines, hoursOf } from './helplines.js';
import type { FlowKind, Lang } from './types.js';

/** How the engine addresses the user. */
export type Register = 'tu' | 'vous';

/** The register of a flow kind: young people are addressed as "tu", professionals as "vous". */
export function registerOf(kind: FlowKind): Register {
  return kind === 'youth' ? 'tu' : 'vous';
}

/** One line of the emergency card. */
export interface EmergencyLine {
  number: string;
  label: string;
}

/** Every string the engine itself shows. Functions take the values they interpolate. */
export interface EngineStrings {
  yes: string;
  no: string;
  skip: string;
  done: string;
  confirm: string;
  change: string;
  restart: string;
  cancel: string;
  retry: string;
  accepted: string;
  none: string;
  summaryTitle: string;
  summaryQuestion: string;
  changeQuestion: string;
  languageQuestion: string;
  languageNames: Record<Lang, string>;
  languageHintNoButtons: string;
  languageChanged: string;
  languageUnavailable: (available: string) => string;
  numberedHint: string;
  multiHint: string;
  multiHintNoButtons: string;
  skipHint: string;
  dateHint: string;
  invalidChoice: (count: number) => string;
  invalidMultiMin: (min: number) => string;
  invalidMultiMax: (max: number) => string;
  invalidMultiUnknown: (count: number) => string;
  invalidYesNo: string;
  invalidConsent: (accept: string, decline: string) => string;
  invalidTextShort: (min: number) => string;
  invalidTextLong: (max: number, got: number) => string;
  /** Re-prompts of a `text` step with `format:` (phone, e-mail, either, commune). */
  invalidPhone: string;
  invalidEmail: string;
  invalidPhoneOrEmail: string;
  invalidCommune: string;
  invalidNumber: (min: number, max: number) => string;
  invalidDate: string;
  invalidDateFuture: string;
  invalidSummary: string;
  invalidRetry: string;
  cannotSkip: string;
  offerHelp: string;
  unknownCommand: string;
  staleButton: string;
  help: string;
  helpSkip: string;
  emergencyTitle: string;
  emergencyLines: EmergencyLine[];
  emergencyText: string;
  expired: (hours: number) => string;
  discarded: string;
  resumed: string;
  restarted: string;
  erased: (canDeleteMessages: boolean) => string;
  /** The quick-exit button under the last message of a youth conversation. */
  eraseButton: string;
  /** Shown with that button when the end step has no text of its own. */
  eraseOffer: string;
  stopped: string;
  followUpUsage: string;
  submitting: string;
  submitWait: string;
  receiptText: (hasReceipt: boolean) => string;
  submitFailed: (reason: 'no_recipient' | 'unavailable') => string;
  retryQuestion: string;
  technicalProblem: string;
}

const plural = (n: number, one: string, many: string) => (n > 1 ? many : one);

function french(r: Register): EngineStrings {
  const tu = r === 'tu';
  const v = (tuText: string, vousText: string) => (tu ? tuText : vousText);
  return {
    yes: 'Oui',
    no: 'Non',
    skip: 'Passer',
    done: 'Valider',
    confirm: v("C'est bon, envoyer", 'Confirmer et envoyer'),
    change: 'Modifier une réponse',
    restart: 'Tout recommencer',
    cancel: 'Annuler',
    retry: 'Réessayer',
    accepted: 'Accepté',
    none: 'Aucune',
    summaryTitle: 'Récapitulatif',
    summaryQuestion: v('Tout est correct ?', 'Ces informations sont-elles correctes ?'),
    changeQuestion: v('Quelle réponse veux-tu modifier ?', 'Quelle réponse souhaitez-vous modifier ?'),
    languageQuestion: v('Choisis ta langue :', 'Choisissez votre langue :'),
    languageNames: { fr: 'Français', en: 'English' },
    languageHintNoButtons: v('Écris /langue fr ou /langue en.', 'Écrivez /langue fr ou /langue en.'),
    languageChanged: 'Je continue en français.',
    languageUnavailable: (available) =>
      `Cette langue n'est pas disponible ici. Langues possibles : ${available}.`,
    numberedHint: v('Réponds avec le numéro de ton choix.', 'Répondez avec le numéro de votre choix.'),
    multiHint: v(
      'Plusieurs réponses possibles : touche tes choix puis « Valider ».',
      'Plusieurs réponses possibles : sélectionnez vos choix puis « Valider ».',
    ),
    multiHintNoButtons: v(
      'Plusieurs réponses possibles : écris les numéros séparés par des virgules (par exemple : 1, 3).',
      'Plusieurs réponses possibles : écrivez les numéros séparés par des virgules (par exemple : 1, 3).',
    ),
    skipHint: v(
      'Tu peux passer cette question en écrivant /passer.',
      'Vous pouvez passer cette question en écrivant /passer.',
    ),
    dateHint: v(
      'Écris une date comme 14/07/2024, ou « aujourd’hui », ou « hier ».',
      'Indiquez une date comme 14/07/2024, ou « aujourd’hui », ou « hier ».',
    ),
    invalidChoice: (count) =>
      v(
        `Je n'ai pas compris. Choisis une des réponses proposées (un numéro de 1 à ${count}).`,
        `Je n'ai pas compris. Choisissez une des réponses proposées (un numéro de 1 à ${count}).`,
      ),
    invalidMultiMin: (min) =>
      v(
        `Choisis au moins ${min} ${plural(min, 'réponse', 'réponses')}, puis « Valider ».`,
        `Choisissez au moins ${min} ${plural(min, 'réponse', 'réponses')}, puis « Valider ».`,
      ),
    invalidMultiMax: (max) =>
      v(
        `Tu peux choisir au plus ${max} ${plural(max, 'réponse', 'réponses')}.`,
        `Vous pouvez choisir au plus ${max} ${plural(max, 'réponse', 'réponses')}.`,
      ),
    invalidMultiUnknown: (count) =>
      v(
        `Je n'ai pas compris. Écris les numéros de tes choix (de 1 à ${count}), séparés par des virgules, ou « Valider ».`,
        `Je n'ai pas compris. Écrivez les numéros de vos choix (de 1 à ${count}), séparés par des virgules, ou « Valider ».`,
      ),
    invalidYesNo: v(
      'Je n’ai pas compris. Réponds par oui ou par non.',
      'Je n’ai pas compris. Répondez par oui ou par non.',
    ),
    invalidConsent: (accept, decline) =>
      v(`Choisis « ${accept} » ou « ${decline} ».`, `Choisissez « ${accept} » ou « ${decline} ».`),
    invalidTextShort: (min) =>
      v(
        `Ta réponse est trop courte : écris au moins ${min} ${plural(min, 'caractère', 'caractères')}.`,
        `Votre réponse est trop courte : au moins ${min} ${plural(min, 'caractère', 'caractères')}, s'il vous plaît.`,
      ),
    invalidTextLong: (max, got) =>
      v(
        `Ta réponse est trop longue (${got} caractères) : ${max} caractères au plus. Tu peux la raccourcir ?`,
        `Votre réponse est trop longue (${got} caractères) : ${max} caractères au plus. Pouvez-vous la raccourcir ?`,
      ),
    invalidPhone: v(
      'Je n’ai pas reconnu un numéro de téléphone. Écris-le comme 06 12 34 56 78, ou +33 6 12 34 56 78.',
      'Je n’ai pas reconnu un numéro de téléphone. Indiquez-le comme 06 12 34 56 78, ou +33 6 12 34 56 78.',
    ),
    invalidEmail: v(
      'Je n’ai pas reconnu une adresse e-mail. Écris-la comme prenom.nom@exemple.fr.',
      'Je n’ai pas reconnu une adresse e-mail. Indiquez-la comme prenom.nom@exemple.fr.',
    ),
    invalidPhoneOrEmail: v(
      'Je n’ai pas reconnu un numéro ni une adresse e-mail. Écris un numéro comme 06 12 34 56 78, ou une adresse comme prenom.nom@exemple.fr.',
      'Je n’ai pas reconnu un numéro ni une adresse e-mail. Indiquez un numéro comme 06 12 34 56 78, ou une adresse comme prenom.nom@exemple.fr.',
    ),
    invalidCommune: 'J’attends le nom d’une commune, en lettres. Par exemple : Saint-Denis.',
    invalidNumber: (min, max) =>
      v(
        `J'attends un nombre entier entre ${min} et ${max}, en chiffres (par exemple : ${min}).`,
        `J'attends un nombre entier entre ${min} et ${max}, en chiffres (par exemple : ${min}).`,
      ),
    invalidDate: v(
      'Je n’ai pas reconnu la date. Écris-la comme 14/07/2024 (jour/mois/année), ou « aujourd’hui », ou « hier ».',
      'Je n’ai pas reconnu la date. Indiquez-la comme 14/07/2024 (jour/mois/année), ou « aujourd’hui », ou « hier ».',
    ),
    invalidDateFuture: v(
      'Cette date est dans le futur. Écris une date passée, ou « aujourd’hui ».',
      'Cette date est dans le futur. Indiquez une date passée, ou « aujourd’hui ».',
    ),
    invalidSummary: v(
      'Je n’ai pas compris. Choisis « Confirmer », « Modifier une réponse » ou « Tout recommencer ».',
      'Je n’ai pas compris. Choisissez « Confirmer », « Modifier une réponse » ou « Tout recommencer ».',
    ),
    invalidRetry: v(
      'Pour réessayer l’envoi, choisis « Réessayer ».',
      'Pour réessayer l’envoi, choisissez « Réessayer ».',
    ),
    cannotSkip: v(
      'Cette question ne peut pas être passée, j’ai besoin de ta réponse pour continuer.',
      'Cette question ne peut pas être passée : votre réponse est nécessaire pour continuer.',
    ),
    offerHelp: v(
      'Besoin d’un coup de main ? Écris /aide pour savoir comment répondre, ou /urgence si tu es en danger.',
      'Besoin d’aide ? Écrivez /aide pour savoir comment répondre, ou /urgence en cas de danger.',
    ),
    unknownCommand: v(
      'Je ne connais pas cette commande. Écris /aide pour voir la liste.',
      'Je ne connais pas cette commande. Écrivez /aide pour voir la liste.',
    ),
    staleButton: v(
      'Ce bouton appartient à une question précédente. Voici la question en cours :',
      'Ce bouton appartient à une question précédente. Voici la question en cours :',
    ),
    help: v(
      [
        'Réponds avec les boutons, ou écris ta réponse.',
        'Ces commandes marchent à tout moment :',
        '/urgence : les numéros à appeler si tu es en danger',
        '/recommencer : tout reprendre depuis le début',
        '/effacer : effacer tes réponses et, si possible, les messages de cette discussion',
        '/langue en : switch to English',
        '/suivi <code> : lire les réponses à un message déjà envoyé',
        '/stop : arrêter sans rien envoyer',
      ].join('\n'),
      [
        'Répondez avec les boutons, ou en écrivant votre réponse. Commandes possibles à tout moment :',
        '/urgence : les numéros d’urgence',
        '/recommencer : tout reprendre depuis le début',
        '/effacer : effacer vos réponses et, si possible, les messages de cette discussion',
        '/langue en : switch to English',
        '/suivi <code> : lire les réponses à un message déjà envoyé',
        '/stop : arrêter sans rien envoyer',
      ].join('\n'),
    ),
    helpSkip: '/passer : passer cette question',
    emergencyTitle: v('En cas de danger, ou pour parler à quelqu’un', 'En cas de danger'),
    emergencyLines: cardLines(tu ? 'youth' : 'professional', 'fr'),
    emergencyText: v(
      'Si tu es en danger maintenant, appelle le 17 ou envoie un SMS au 114. Ensuite, tu peux continuer ici si tu veux.',
      'En cas de danger immédiat pour un mineur, appelez le 17. Vous pouvez ensuite continuer ici.',
    ),
    expired: (hours) =>
      v(
        `Ta conversation d’avant était en pause depuis plus de ${hours} heures. Pour ta sécurité, tes réponses ont été effacées de notre service. Les messages restent ici : /effacer les supprime. On reprend depuis le début.`,
        `Votre conversation précédente était en pause depuis plus de ${hours} h : par sécurité, vos réponses ont été effacées de notre service. Les messages restent affichés ici : /effacer les supprime. Reprenons depuis le début.`,
      ),
    discarded: v(
      'Les questions ont changé depuis ta dernière visite. Ta conversation d’avant a été effacée : on reprend depuis le début.',
      'Le questionnaire a changé depuis votre dernière visite : votre conversation précédente a été effacée et nous reprenons depuis le début.',
    ),
    resumed: v(
      'On reprend là où tu t’étais arrêté·e (écris /recommencer pour repartir de zéro).',
      'Reprenons là où vous vous étiez arrêté·e (écrivez /recommencer pour repartir de zéro).',
    ),
    restarted: v('C’est reparti depuis le début.', 'Reprenons depuis le début.'),
    // Only what the service itself did: the channel adds what it could delete in the chat, and what not.
    erased: (canDeleteMessages) =>
      v(
        `C’est fait : tes réponses en cours sont effacées de notre service. Un message déjà envoyé reste chez l’équipe.${canDeleteMessages ? '' : ' Pense à supprimer aussi cette discussion de ton téléphone.'}`,
        `C’est fait : vos réponses en cours sont effacées de notre service. Une fiche déjà envoyée reste chez la coordination.${canDeleteMessages ? '' : ' Vous pouvez aussi supprimer cette discussion de votre appareil.'}`,
      ),
    eraseButton: 'Effacer cette conversation',
    eraseOffer: v(
      'Si quelqu’un peut lire ton téléphone, efface cette conversation.',
      'Vous pouvez effacer cette conversation.',
    ),
    stopped: v(
      'Conversation arrêtée, rien n’a été envoyé. Tu peux revenir quand tu veux : écris un message pour recommencer.',
      'Conversation arrêtée, rien n’a été envoyé. Écrivez un message pour recommencer quand vous le souhaitez.',
    ),
    followUpUsage: v(
      'Pour lire les réponses, écris /suivi suivi de ton code secret (par exemple : /suivi ABCD-EFGH-…).',
      'Pour lire les réponses, écrivez /suivi suivi de votre code secret (par exemple : /suivi ABCD-EFGH-…).',
    ),
    submitting: v('J’envoie ton message…', 'Envoi de votre fiche…'),
    submitWait: v(
      'L’envoi est en cours, un instant s’il te plaît.',
      'L’envoi est en cours, un instant s’il vous plaît.',
    ),
    receiptText: (hasReceipt) =>
      v(
        `C’est envoyé. Merci de nous avoir fait confiance.${hasReceipt ? ' Note ton code secret avant d’effacer la conversation. Garde-le en lieu sûr et ne le montre à personne. Avec /suivi et ce code, tu liras nos réponses.' : ''}`,
        `Votre fiche est envoyée. Merci.${hasReceipt ? ' Conservez le code secret en lieu sûr : avec /suivi et ce code, vous pourrez lire les réponses de la coordination.' : ''}`,
      ),
    submitFailed: (reason) =>
      reason === 'no_recipient'
        ? v(
            `Ton message n’a pas pu partir pour l’instant : personne n’est disponible pour le recevoir. Tes réponses sont gardées. Si c’est urgent : 17 (police), 112, 114 par SMS, ou 119 (gratuit, ${hoursOf('119', 'fr')}).`,
            `Votre fiche n’a pas pu être transmise pour l’instant (aucun destinataire disponible). Vos réponses sont conservées. En cas d’urgence : 17 (police), 112, 114 par SMS, 119 (enfance en danger, ${hoursOf('119', 'fr')}).`,
          )
        : v(
            'L’envoi n’a pas fonctionné (le service est momentanément indisponible). Tes réponses sont gardées : réessaie dans quelques minutes.',
            'L’envoi n’a pas fonctionné (service momentanément indisponible). Vos réponses sont conservées : réessayez dans quelques minutes.',
          ),
    retryQuestion: v('Réessayer l’envoi ?', 'Réessayer l’envoi ?'),
    technicalProblem: v(
      'Désolé, il y a eu un problème technique : la conversation a dû être effacée. Écris un message pour recommencer, ou /urgence si tu es en danger.',
      'Désolé, un problème technique est survenu et la conversation a dû être effacée. Écrivez un message pour recommencer, ou /urgence en cas de danger.',
    ),
  };
}

function english(r: Register): EngineStrings {
  // English has no tu/vous; the youth register is just plainer and warmer.
  const youth = r === 'tu';
  const v = (youthText: string, proText: string) => (youth ? youthText : proText);
  return {
    yes: 'Yes',
    no: 'No',
    skip: 'Skip',
    done: 'Done',
    confirm: v('All good, send it', 'Confirm and send'),
    change: 'Change an answer',
    restart: 'Start again',
    cancel: 'Cancel',
    retry: 'Try again',
    accepted: 'Accepted',
    none: 'None',
    summaryTitle: 'Summary',
    summaryQuestion: v('Is all of this right?', 'Is this information correct?'),
    changeQuestion: 'Which answer do you want to change?',
    languageQuestion: 'Choose your language:',
    languageNames: { fr: 'Français', en: 'English' },
    languageHintNoButtons: 'Type /language fr or /language en.',
    languageChanged: 'I will continue in English.',
    languageUnavailable: (available) => `This language is not available here. Available: ${available}.`,
    numberedHint: 'Reply with the number of your choice.',
    multiHint: 'You can pick several answers, then press “Done”.',
    multiHintNoButtons:
      'You can pick several answers: type their numbers separated by commas (for example: 1, 3).',
    skipHint: 'You can skip this question by typing /skip.',
    dateHint: 'Type a date like 14/07/2024 (day/month/year), or “today”, or “yesterday”.',
    invalidChoice: (count) =>
      `Sorry, I did not understand. Pick one of the answers (a number from 1 to ${count}).`,
    invalidMultiMin: (min) => `Pick at least ${min} ${plural(min, 'answer', 'answers')}, then “Done”.`,
    invalidMultiMax: (max) => `You can pick at most ${max} ${plural(max, 'answer', 'answers')}.`,
    invalidMultiUnknown: (count) =>
      `Sorry, I did not understand. Type the numbers of your choices (1 to ${count}) separated by commas, or “Done”.`,
    invalidYesNo: 'Sorry, I did not understand. Please answer yes or no.',
    invalidConsent: (accept, decline) => `Please choose “${accept}” or “${decline}”.`,
    invalidTextShort: (min) =>
      `Your answer is too short: please write at least ${min} ${plural(min, 'character', 'characters')}.`,
    invalidTextLong: (max, got) =>
      `Your answer is too long (${got} characters): ${max} characters at most. Could you shorten it?`,
    invalidPhone: 'I did not recognise a phone number. Type it like 06 12 34 56 78, or +33 6 12 34 56 78.',
    invalidEmail: 'I did not recognise an email address. Type it like firstname.name@example.org.',
    invalidPhoneOrEmail:
      'I did not recognise a phone number or an email address. Type a number like 06 12 34 56 78, or an address like firstname.name@example.org.',
    invalidCommune: 'I need the name of a town, in letters. For example: Saint-Denis.',
    invalidNumber: (min, max) =>
      `I need a whole number between ${min} and ${max}, in digits (for example: ${min}).`,
    invalidDate:
      'I did not recognise the date. Type it like 14/07/2024 (day/month/year), or “today”, or “yesterday”.',
    invalidDateFuture: 'This date is in the future. Please give a past date, or “today”.',
    invalidSummary: 'Sorry, I did not understand. Choose “Confirm”, “Change an answer” or “Start again”.',
    invalidRetry: 'To try sending again, choose “Try again”.',
    cannotSkip: 'This question cannot be skipped: your answer is needed to go on.',
    offerHelp: v(
      'Need a hand? Type /help to see how to answer, or /emergency if you are in danger.',
      'Need help? Type /help to see how to answer, or /emergency in case of danger.',
    ),
    unknownCommand: 'I do not know this command. Type /help to see the list.',
    staleButton: 'This button belongs to an earlier question. Here is the current question:',
    help: [
      v(
        'Answer with the buttons, or type your answer.',
        'Answer with the buttons, or by typing your answer.',
      ),
      'Commands you can use at any time:',
      v('/emergency: numbers to call if you are in danger', '/emergency: emergency numbers'),
      '/restart: start again from the beginning',
      '/erase: erase your answers and, where possible, the messages of this chat',
      '/langue fr : passer en français',
      v(
        '/followup <code>: read the replies to a message you sent',
        '/followup <code>: read the replies to a report you sent',
      ),
      '/stop: stop without sending anything',
    ].join('\n'),
    helpSkip: '/skip: skip this question',
    emergencyTitle: v('In case of danger, or to talk to someone', 'In case of danger'),
    emergencyLines: cardLines(youth ? 'youth' : 'professional', 'en'),
    emergencyText: v(
      'If you are in danger now, call 17 or text 114. Then you can carry on here if you want.',
      'If a minor is in immediate danger, call 17. You can then continue here.',
    ),
    expired: (hours) =>
      `Your previous conversation was paused for more than ${hours} hours. For your safety, your answers were erased from our service. The messages stay here: /erase deletes them. Let's start again from the beginning.`,
    discarded:
      'The questions have changed since your last visit. Your previous conversation was erased: we start again from the beginning.',
    resumed: 'Let’s pick up where you left off (type /restart to start from scratch).',
    restarted: 'Starting again from the beginning.',
    erased: (canDeleteMessages) =>
      `Done: your answers in progress are erased from our service. ${v('A message you already sent stays with the team.', 'A report already sent stays with the coordination team.')}${canDeleteMessages ? '' : v(' Remember to delete this chat from your phone too.', ' You may also delete this chat from your device.')}`,
    eraseButton: 'Erase this conversation',
    eraseOffer: v(
      'If someone may read your phone, erase this conversation.',
      'You can erase this conversation.',
    ),
    stopped: 'Conversation stopped, nothing was sent. Send a message whenever you want to start again.',
    followUpUsage:
      'To read the replies, type /followup followed by your secret code (for example: /followup ABCD-EFGH-…).',
    submitting: v('Sending your message…', 'Sending your report…'),
    submitWait: 'Sending is in progress, one moment please.',
    receiptText: (hasReceipt) =>
      v(
        `Sent. Thank you for trusting us.${hasReceipt ? ' Write down your secret code before you erase the conversation. Keep it somewhere safe and show it to no one. With /followup and this code, you can read our replies.' : ''}`,
        `Your report has been sent. Thank you.${hasReceipt ? ' Keep the secret code somewhere safe: with /followup and this code you can read the coordination team’s replies.' : ''}`,
      ),
    submitFailed: (reason) =>
      reason === 'no_recipient'
        ? v(
            `Your message could not be passed on for now: nobody is available to receive it. Your answers are kept. If it is urgent: 17 (police), 112, 114 by text, or 119 (free, ${hoursOf('119', 'en')}).`,
            `Your report could not be passed on for now (no recipient available). Your answers are kept. If it is urgent: 17 (police), 112, 114 by text, 119 (child in danger, ${hoursOf('119', 'en')}).`,
          )
        : 'Sending did not work (the service is temporarily unavailable). Your answers are kept: please try again in a few minutes.',
    retryQuestion: 'Try sending again?',
    technicalProblem: v(
      'Sorry, a technical problem happened and the conversation had to be erased. Send a message to start again, or /emergency if you are in danger.',
      'Sorry, a technical problem happened and the conversation had to be erased. Send a message to start again, or /emergency in case of danger.',
    ),
  };
}

const TABLE: Record<Lang, Record<Register, EngineStrings>> = {
  fr: { tu: french('tu'), vous: french('vous') },
  en: { tu: english('tu'), vous: english('vous') },
};

/** The engine's strings for a language and a flow kind. */
export function stringsFor(lang: Lang, kind: FlowKind): EngineStrings {
  return TABLE[lang][registerOf(kind)];
}
