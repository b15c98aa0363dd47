/**
 * Writing back after reading the replies ("J'ai déjà un code"): the message is sealed in this page to the
 * coordinators of the report's inbox (followup.ts) and sent with the code's lookup hash only. The text is in
 * this component's memory until it is sent, then cleared; it is never shown back or stored.
 */
import { useState } from 'preact/hooks';
import { ANSWER_MAX_CHARS, type AnswerHandle, type AnswerOutcome, sendAnswer } from './followup.js';
import type { UiTexts } from './i18n.js';

export function AnswerForm(props: { t: UiTexts; answer: AnswerHandle; hasReplies: boolean }) {
  const { t, answer, hasReplies } = props;
  const [text, setText] = useState('');
  const [sending, setSending] = useState(false);
  const [outcome, setOutcome] = useState<AnswerOutcome | null>(null);
  const submit = async () => {
    const message = text.trim();
    if (sending || !message) return;
    setSending(true);
    setOutcome(null);
    const result = await sendAnswer(answer, message.slice(0, ANSWER_MAX_CHARS)).catch(
      () => ({ ok: false, reason: 'unavailable' }) as const satisfies AnswerOutcome,
    );
    setSending(false);
    if (result.ok) setText('');
    setOutcome(result);
  };
  return (
    <form
      class="answer"
      aria-labelledby="answer-title"
      onSubmit={(ev) => {
        ev.preventDefault();
        void submit();
      }}
    >
      <h3 id="answer-title">{t.answerTitle}</h3>
      <label for="answer-text">{t.answerLabel}</label>
      <textarea
        id="answer-text"
        rows={4}
        maxLength={ANSWER_MAX_CHARS}
        autoComplete="off"
        value={text}
        aria-describedby={hasReplies ? 'answer-hint' : 'answer-hint answer-check'}
        onInput={(ev) => setText((ev.target as HTMLTextAreaElement).value)}
      />
      <p class="hint" id="answer-hint">
        {t.answerHint}
      </p>
      {/* Replies opened with this code prove it right: the warning is for a code without replies only. */}
      {hasReplies ? null : (
        <p class="hint" id="answer-check">
          {t.answerCheck}
        </p>
      )}
      <div class="options">
        <button type="submit" class="option" aria-disabled={sending ? 'true' : 'false'}>
          {t.answerSend}
        </button>
      </div>
      {/* One live region that stays in the page, so screen readers announce each change of its text. */}
      <p role="status" data-testid="answer-outcome">
        {sending
          ? t.sending
          : outcome
            ? outcome.ok
              ? t.answerSent
              : outcome.reason === 'throttled'
                ? t.throttled
                : t.answerFailed
            : ''}
      </p>
    </form>
  );
}
