/**
 * The coordinator inbox UI (Preact). Login derives the keys with Argon2id here; the private key and the
 * opened data keys live in memory only (keys.ts) and are wiped at logout, on "Lock" and after 15 minutes
 * without activity. Nothing is written to localStorage except the interface language. An invitation link
 * (`#/invite/<token>`) opens the invitee's page instead of the login.
 */
import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { AdminView } from './admin.js';
import { ApiError, api, type LoginResponse, onSessionLost, setCsrf, type WorkflowInfo } from './api.js';
import { AuditView } from './audit.js';
import { CaseView } from './case.js';
import type { Ctx } from './ctx.js';
import { type Lang, TEXTS, type Texts } from './i18n.js';
import { InviteView, inviteToken } from './invite.js';
import * as keys from './keys.js';
import { QueueView } from './queue.js';
import { StatsView } from './stats.js';
import { EnrollTotp } from './totp.js';

const IDLE_MS = 15 * 60_000;

type View =
  | { name: 'queue' }
  | { name: 'case'; reference: string }
  | { name: 'stats' }
  | { name: 'audit' }
  | { name: 'admin' }
  | { name: 'account' };

function initialLang(): Lang {
  // The language preference is the only thing kept in localStorage: it is not sensitive.
  const saved = globalThis.localStorage?.getItem('inbox-lang');
  return saved === 'en' ? 'en' : 'fr';
}

function Login(props: {
  t: Texts;
  onDone: (me: LoginResponse) => void;
  notice: string | null;
  initialLogin?: string;
}) {
  const { t } = props;
  const [login, setLogin] = useState(props.initialLogin ?? '');
  const [pass, setPass] = useState('');
  const [totp, setTotp] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    // Let the "deriving" message paint before Argon2 blocks the thread for a moment.
    await new Promise((r) => setTimeout(r, 30));
    try {
      await keys.ready();
      const { salt } = await api<{ salt: string }>('POST', '/auth/salt', { login });
      const derived = keys.derive(pass, salt);
      let me: LoginResponse;
      try {
        me = await api<LoginResponse>('POST', '/auth/login', {
          login,
          loginKey: derived.loginKey,
          ...(totp ? { totp } : {}),
        });
      } finally {
        derived.wipeLogin();
      }
      keys.unlock(derived.wrapKey, me.coordinator.wrappedPrivateKey, me.coordinator.id);
      setPass('');
      setCsrf(me.csrfToken);

      props.onDone(me);
    } catch (err) {
      // Every failure gets one answer from the server (which factor failed is never said), hence one text.
      if (err instanceof ApiError && err.status === 429) setError(t.locked);
      else setError(t.badCredentials);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main id="main" class="login">
      <h1>{t.appTitle}</h1>
      {props.notice && (
        <p class="notice" role="status">
          {props.notice}
        </p>
      )}
      <form onSubmit={submit} aria-describedby={error ? 'login-error' : undefined}>
        <label for="login">{t.login}</label>
        <input
          id="login"
          name="login"
          autocomplete="username"
          required
          value={login}
          onInput={(e) => setLogin(e.currentTarget.value)}
        />
        <label for="passphrase">{t.passphrase}</label>
        <input
          id="passphrase"
          name="passphrase"
          type="password"
          autocomplete="current-password"
          required
          value={pass}
          onInput={(e) => setPass(e.currentTarget.value)}
        />
        {/* Always shown: the server never says whether an account has a second factor. */}
        <label for="totp">{t.totpOptional}</label>
        <input
          id="totp"
          name="totp"
          inputMode="numeric"
          pattern="[0-9]{6}"
          autocomplete="one-time-code"
          value={totp}
          onInput={(e) => setTotp(e.currentTarget.value)}
        />
        {error && (
          <p id="login-error" class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? t.signingIn : t.signIn}
        </button>
      </form>
    </main>
  );
}

/**
 * Accounts older than signatures: registers, once, the signing key derived here from the private key (the
 * server keeps it under its keys MAC). A refusal leaves notes and replies refused until an admin looks.
 */
async function registerSigningKey(me: LoginResponse) {
  if (me.coordinator.signingPublicKey) return;
  const signingPublicKey = keys.signingPublicKey();
  try {
    await api('POST', '/account/signing-key', { signingPublicKey });
    me.coordinator.signingPublicKey = signingPublicKey;
  } catch {
    // Shown where it matters: sending a note or a reply answers "register your signing key first".
  }
}

/** The coordinator's own account: the second factor (enrolment with a QR code when it is off). */
function AccountView(props: { ctx: Ctx; onTotp: () => void }) {
  const { t, me } = props.ctx;
  const [enrolling, setEnrolling] = useState(false);
  const [done, setDone] = useState(false);
  return (
    <section aria-labelledby="account-title">
      <h1 id="account-title">{t.account}</h1>
      <p>
        {me.coordinator.name} ({me.coordinator.login})
      </p>
      <h2>{t.secondFactor}</h2>
      {done && <p role="status">{t.totpDone}</p>}
      {me.coordinator.totpEnabled && !done && <p>{t.totpOn}</p>}
      {!me.coordinator.totpEnabled && !enrolling && (
        <button type="button" onClick={() => setEnrolling(true)}>
          {t.enableTotp}
        </button>
      )}
      {enrolling && (
        <EnrollTotp
          t={t}
          headingLevel={2}
          onDone={() => {
            setEnrolling(false);
            setDone(true);
            props.onTotp();
          }}
        />
      )}
    </section>
  );
}

function App() {
  const [lang, setLang] = useState<Lang>(initialLang());
  const t = TEXTS[lang];
  const [me, setMe] = useState<LoginResponse | null>(null);
  const [info, setInfo] = useState<WorkflowInfo | null>(null);
  const [view, setView] = useState<View>({ name: 'queue' });
  const [notice, setNotice] = useState<string | null>(null);
  const [restricted, setRestricted] = useState(false);
  const [invite, setInvite] = useState<string | null>(inviteToken(location.hash));
  const [joinedLogin, setJoinedLogin] = useState<string | undefined>(undefined);

  useEffect(() => {
    const onHash = () => setInvite(inviteToken(location.hash));
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    document.documentElement.lang = lang;
    document.title = t.appTitle;
  }, [lang, t]);

  function lockNow(message: string | null) {
    keys.forget();
    setCsrf(null);
    setMe(null);
    setInfo(null);
    setView({ name: 'queue' });
    setNotice(message);
  }

  async function logout(message: string | null = null) {
    try {
      await api('POST', '/auth/logout');
    } catch {
      // Already gone: nothing to do.
    }
    lockNow(message);
  }

  useEffect(() => onSessionLost(() => lockNow(TEXTS[lang].idleLocked)), [lang]);

  // Idle lock: 15 minutes without a key press, click or touch wipes the keys and ends the session.
  useEffect(() => {
    if (!me) return;
    let timer = setTimeout(() => logout(t.idleLocked), IDLE_MS);
    const bump = () => {
      clearTimeout(timer);
      timer = setTimeout(() => logout(t.idleLocked), IDLE_MS);
    };
    const events = ['keydown', 'pointerdown', 'touchstart', 'scroll'];
    for (const e of events) window.addEventListener(e, bump, { passive: true });
    return () => {
      clearTimeout(timer);
      for (const e of events) window.removeEventListener(e, bump);
    };
  }, [me]);

  async function loggedIn(m: LoginResponse) {
    setNotice(null);
    setMe(m);
    setRestricted(m.totpEnrollmentRequired);
    if (!m.totpEnrollmentRequired) {
      await registerSigningKey(m);
      setInfo(await api<WorkflowInfo>('GET', '/workflow'));
    }
  }

  const ctx = useMemo<Ctx | null>(() => {
    if (!me || !info) return null;
    const names = new Map(info.members.map((m) => [m.id, m.name]));
    return {
      t,
      lang,
      me,
      info,
      statusLabel: (id) => info.workflow.statuses.find((s) => s.id === id)?.label[lang] ?? id,
      memberName: (id) => (id ? (names.get(id) ?? '—') : '—'),
    };
  }, [me, info, lang, t]);

  const switchLang = () => {
    const next = lang === 'fr' ? 'en' : 'fr';
    globalThis.localStorage?.setItem('inbox-lang', next);
    setLang(next);
  };

  const header = (
    <header class="top no-print">
      <a class="skip" href="#main">
        {t.skip}
      </a>
      <span class="brand">{t.appTitle}</span>
      {ctx && (
        <nav aria-label="Navigation">
          <button
            type="button"
            aria-current={view.name === 'queue' || view.name === 'case'}
            onClick={() => setView({ name: 'queue' })}
          >
            {t.queue}
          </button>
          <button
            type="button"
            aria-current={view.name === 'stats'}
            onClick={() => setView({ name: 'stats' })}
          >
            {t.stats}
          </button>
          {ctx.me.coordinator.role === 'admin' && (
            <>
              <button
                type="button"
                aria-current={view.name === 'audit'}
                onClick={() => setView({ name: 'audit' })}
              >
                {t.audit}
              </button>
              <button
                type="button"
                aria-current={view.name === 'admin'}
                onClick={() => setView({ name: 'admin' })}
              >
                {t.admin}
              </button>
            </>
          )}
          <button
            type="button"
            aria-current={view.name === 'account'}
            onClick={() => setView({ name: 'account' })}
          >
            {t.account}
          </button>
        </nav>
      )}
      <span class="spacer" />
      <button type="button" class="link" lang={lang === 'fr' ? 'en' : 'fr'} onClick={switchLang}>
        {t.language}
      </button>
      {me && (
        <>
          <span class="who">{me.coordinator.name}</span>
          <button type="button" onClick={() => logout(null)}>
            {t.logout}
          </button>
        </>
      )}
    </header>
  );

  if (!me && invite) {
    return (
      <>
        {header}
        <InviteView
          t={t}
          lang={lang}
          token={invite}
          onDone={(login) => {
            // The link is spent: take it out of the address bar and the history entry.
            history.replaceState(null, '', location.pathname);
            setInvite(null);
            setJoinedLogin(login);
            setNotice(t.inviteDone);
          }}
        />
      </>
    );
  }
  if (!me) {
    return (
      <>
        {header}
        <Login
          t={t}
          notice={notice}
          onDone={loggedIn}
          {...(joinedLogin ? { initialLogin: joinedLogin } : {})}
        />
      </>
    );
  }
  if (restricted) {
    return (
      <>
        {header}
        <main id="main" class="login">
          <EnrollTotp
            t={t}
            onDone={async () => {
              setRestricted(false);
              await registerSigningKey(me);
              setInfo(await api<WorkflowInfo>('GET', '/workflow'));
            }}
          />
        </main>
      </>
    );
  }
  if (!ctx) return header;
  return (
    <>
      {header}
      <main id="main">
        {view.name === 'queue' && (
          <QueueView ctx={ctx} onOpen={(reference) => setView({ name: 'case', reference })} />
        )}
        {view.name === 'case' && (
          <CaseView ctx={ctx} reference={view.reference} onBack={() => setView({ name: 'queue' })} />
        )}
        {view.name === 'stats' && <StatsView ctx={ctx} />}
        {view.name === 'audit' && <AuditView ctx={ctx} />}
        {view.name === 'admin' && <AdminView ctx={ctx} />}
        {view.name === 'account' && (
          <AccountView
            ctx={ctx}
            onTotp={() => {
              me.coordinator.totpEnabled = true;
            }}
          />
        )}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
