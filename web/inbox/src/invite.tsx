/**
 * The invitee's page (`/inbox/#/invite/<token>`): says whom the link invites, takes the passphrase they
 * choose, makes the key pair and derives the keys here (keys.enrol), and sends only public material to
 * `POST /invitations/accept`. The token comes from the URL fragment, which the browser never sends with a
 * page load; it travels only in these two POST bodies.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { PASSPHRASE_MIN_CHARS } from '../../../src/crypto/index.js';
import { ApiError, api } from './api.js';
import type { Lang, Texts } from './i18n.js';
import * as keys from './keys.js';
import { formatDate } from './queue.js';

interface Invitation {
  login: string;
  name: string;
  role: 'coordinator' | 'admin';
  inbox: { id: string; name: string };
  expiresAt: string;
}

/** The token of an invitation link, or null when the fragment is something else. */
export function inviteToken(hash: string): string | null {
  const m = /^#\/invite\/([A-Za-z0-9_-]{43})$/.exec(hash);
  return m ? m[1]! : null;
}

export function InviteView(props: { t: Texts; lang: Lang; token: string; onDone: (login: string) => void }) {
  const { t, lang, token } = props;
  const [inv, setInv] = useState<Invitation | null>(null);
  const [gone, setGone] = useState<string | null>(null);
  const [pass, setPass] = useState('');
  const [again, setAgain] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    heading.current?.focus();
    api<Invitation>('POST', '/invitations/lookup', { token }).then(setInv, (e) =>
      setGone(e instanceof ApiError ? e.code : 'unknown'),
    );
  }, [token]);

  async function submit(e: Event) {
    e.preventDefault();
    setError(null);
    if ([...pass.normalize('NFC')].length < PASSPHRASE_MIN_CHARS) {
      setError(t.passphraseTooShort(PASSPHRASE_MIN_CHARS));
      return;
    }
    if (pass !== again) {
      setError(t.passphraseMismatch);
      return;
    }
    setBusy(true);
    // Let "making the keys" paint before Argon2 holds the thread for a moment.
    await new Promise((r) => setTimeout(r, 30));
    try {
      await keys.ready();
      const material = keys.enrol(pass, crypto.randomUUID());
      setPass('');
      setAgain('');
      await api('POST', '/invitations/accept', { token, ...material });
      props.onDone(inv?.login ?? '');
    } catch (err) {
      if (err instanceof ApiError && t.inviteGone[err.code]) setGone(err.code);
      else setError(t.inviteError);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main id="main" class="login">
      <h1 ref={heading} tabIndex={-1}>
        {t.inviteTitle}
      </h1>
      {gone && (
        <p class="error" role="alert">
          {t.inviteGone[gone] ?? t.inviteGone.unknown}
        </p>
      )}
      {inv && !gone && (
        <>
          <p>{t.inviteFor(inv.name, inv.login, inv.inbox.name)}</p>
          <p>
            {t.inviteExpires} {formatDate(inv.expiresAt, lang)}.
          </p>
          <p id="invite-help">{t.inviteHelp(PASSPHRASE_MIN_CHARS)}</p>
          <form onSubmit={submit} aria-describedby="invite-help">
            {/* The login, for password managers; not editable. */}
            <label for="invite-login">{t.login}</label>
            <input id="invite-login" name="username" autocomplete="username" value={inv.login} readOnly />
            <label for="new-passphrase">{t.newPassphrase}</label>
            <input
              id="new-passphrase"
              type="password"
              autocomplete="new-password"
              required
              minLength={PASSPHRASE_MIN_CHARS}
              value={pass}
              onInput={(e) => setPass(e.currentTarget.value)}
            />
            <label for="confirm-passphrase">{t.confirmPassphrase}</label>
            <input
              id="confirm-passphrase"
              type="password"
              autocomplete="new-password"
              required
              value={again}
              onInput={(e) => setAgain(e.currentTarget.value)}
            />
            {error && (
              <p class="error" role="alert">
                {error}
              </p>
            )}
            <button type="submit" disabled={busy}>
              {busy ? t.creatingAccount : t.createAccount}
            </button>
          </form>
        </>
      )}
    </main>
  );
}
