/**
 * Administration (admins), for the inboxes this admin is a member of: invitations (the link is shown once),
 * accounts (disable, enable, role, reset the second factor), and access to an inbox's reports (membership
 * plus the re-sealed data keys, made here: the server sees no data key). The server refuses anything
 * outside the admin's inboxes; this screen offers only what it allows.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api } from './api.js';
import type { Ctx } from './ctx.js';
import * as keys from './keys.js';
import { formatDate } from './queue.js';

interface Account {
  id: string;
  login: string;
  name: string;
  role: 'coordinator' | 'admin';
  inboxes: string[];
  publicKey: string;
  disabled: boolean;
  totpEnabled: boolean;
  manageable: boolean;
}
interface Invitation {
  id: string;
  login: string;
  name: string;
  role: string;
  inbox: string;
  createdAt: string;
  expiresAt: string;
  status: 'open' | 'used' | 'expired' | 'revoked';
}

export function AdminView(props: { ctx: Ctx }) {
  const { t, lang, me } = props.ctx;
  const [accounts, setAccounts] = useState<Account[]>([]);
  const [managed, setManaged] = useState<string[]>([]);
  const [invitations, setInvitations] = useState<Invitation[]>([]);
  // One live region for the outcome of every action on this screen.
  const [status, setStatus] = useState<{ text: string; error: boolean } | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const inboxName = (id: string) => me.inboxes.find((i) => i.id === id)?.name ?? id;

  async function reload() {
    const [a, i] = await Promise.all([
      api<{ items: Account[]; managedInboxes: string[] }>('GET', '/admin/coordinators'),
      api<{ items: Invitation[] }>('GET', '/admin/invitations'),
    ]);
    setAccounts(a.items);
    setManaged(a.managedInboxes);
    setInvitations(i.items);
  }
  useEffect(() => {
    heading.current?.focus();
    reload();
  }, []);

  async function act(fn: () => Promise<string | undefined>) {
    setStatus(null);
    try {
      const text = await fn();
      setStatus({ text: text ?? t.done, error: false });
      await reload();
    } catch (err) {
      setStatus({ text: `${t.refused} ${err instanceof ApiError ? err.message : String(err)}`, error: true });
    }
  }

  return (
    <section aria-labelledby="admin-title" class="admin">
      <h1 id="admin-title" ref={heading} tabIndex={-1}>
        {t.admin}
      </h1>
      <p role="status" class={status?.error ? 'error' : 'ok'} data-testid="admin-status">
        {status?.text ?? ''}
      </p>
      <InviteForm ctx={props.ctx} managed={managed} inboxName={inboxName} onCreated={reload} />

      <h2 id="invitations-title">{t.invitations}</h2>
      <div class="table-wrap">
        <table aria-labelledby="invitations-title">
          <thead>
            <tr>
              <th scope="col">{t.name}</th>
              <th scope="col">{t.login}</th>
              <th scope="col">{t.inbox}</th>
              <th scope="col">{t.role}</th>
              <th scope="col">{t.expires}</th>
              <th scope="col">{t.state}</th>
              <th scope="col">{t.actions}</th>
            </tr>
          </thead>
          <tbody>
            {invitations.map((i) => (
              <tr data-invitation={i.login}>
                <td>{i.name}</td>
                <td>{i.login}</td>
                <td>{inboxName(i.inbox)}</td>
                <td>{t.roles[i.role] ?? i.role}</td>
                <td>{formatDate(i.expiresAt, lang)}</td>
                <td>{t.inviteStatus[i.status] ?? i.status}</td>
                <td>
                  {i.status === 'open' && (
                    <button
                      type="button"
                      aria-label={`${t.revoke} ${i.login}`}
                      onClick={() =>
                        act(async () => void (await api('POST', `/admin/invitations/${i.id}/revoke`)))
                      }
                    >
                      {t.revoke}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      <h2 id="accounts-title">{t.accounts}</h2>
      <div class="table-wrap">
        <table aria-labelledby="accounts-title">
          <thead>
            <tr>
              <th scope="col">{t.name}</th>
              <th scope="col">{t.login}</th>
              <th scope="col">{t.role}</th>
              <th scope="col">{t.inboxes}</th>
              <th scope="col">{t.secondFactor}</th>
              <th scope="col">{t.state}</th>
              <th scope="col">{t.actions}</th>
            </tr>
          </thead>
          <tbody>
            {accounts.map((a) => {
              const self = a.id === me.coordinator.id;
              const other = a.role === 'admin' ? 'coordinator' : 'admin';
              return (
                <tr data-login={a.login}>
                  <td>{a.name}</td>
                  <td>{a.login}</td>
                  <td>{t.roles[a.role] ?? a.role}</td>
                  <td>{a.inboxes.map(inboxName).join(', ')}</td>
                  <td>{a.totpEnabled ? t.on : t.off}</td>
                  <td data-testid="account-state">{a.disabled ? t.disabled : t.active}</td>
                  <td>
                    <div class="row-actions">
                      {!a.manageable && <span>{t.notManageable}</span>}
                      {a.manageable && !self && (
                        <>
                          <button
                            type="button"
                            aria-label={`${a.disabled ? t.enable : t.disable} ${a.login}`}
                            onClick={() =>
                              act(async () => {
                                await api(
                                  'POST',
                                  `/admin/coordinators/${a.id}/${a.disabled ? 'enable' : 'disable'}`,
                                );
                                return undefined;
                              })
                            }
                          >
                            {a.disabled ? t.enable : t.disable}
                          </button>
                          <button
                            type="button"
                            aria-label={`${t.makeRole(t.roles[other] ?? other)} ${a.login}`}
                            onClick={() =>
                              act(async () => {
                                await api('POST', `/admin/coordinators/${a.id}/role`, { role: other });
                                return undefined;
                              })
                            }
                          >
                            {t.makeRole(t.roles[other] ?? other)}
                          </button>
                          {a.totpEnabled && (
                            <button
                              type="button"
                              aria-label={`${t.resetTotp} ${a.login}`}
                              onClick={() =>
                                act(async () => {
                                  await api('POST', `/admin/coordinators/${a.id}/totp/reset`);
                                  return undefined;
                                })
                              }
                            >
                              {t.resetTotp}
                            </button>
                          )}
                        </>
                      )}
                    </div>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>

      <GrantForm ctx={props.ctx} accounts={accounts} managed={managed} inboxName={inboxName} act={act} />
    </section>
  );
}

function InviteForm(props: {
  ctx: Ctx;
  managed: string[];
  inboxName: (id: string) => string;
  onCreated: () => Promise<void>;
}) {
  const { t } = props.ctx;
  const [name, setName] = useState('');
  const [login, setLogin] = useState('');
  const [inbox, setInbox] = useState('');
  const [role, setRole] = useState<'coordinator' | 'admin'>('coordinator');
  const [link, setLink] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const linkField = useRef<HTMLInputElement>(null);
  const chosenInbox = inbox || props.managed[0] || '';

  async function submit(e: Event) {
    e.preventDefault();
    setError(null);
    setLink(null);
    setCopied(false);
    try {
      const r = await api<{ url: string }>('POST', '/admin/invitations', {
        name,
        login: login.trim().toLowerCase(),
        role,
        inbox: chosenInbox,
      });
      setLink(r.url);
      setName('');
      setLogin('');
      await props.onCreated();
      // The link is shown once: move focus to it so it is read out and easy to copy.
      setTimeout(() => linkField.current?.select(), 0);
      linkField.current?.focus();
    } catch (err) {
      setError(`${t.refused} ${err instanceof ApiError ? err.message : String(err)}`);
    }
  }

  async function copy() {
    if (!link) return;
    try {
      await navigator.clipboard.writeText(link);
      setCopied(true);
    } catch {
      linkField.current?.select();
    }
  }

  return (
    <section aria-labelledby="invite-title">
      <h2 id="invite-title">{t.inviteSection}</h2>
      <p>{t.inviteIntro}</p>
      <form onSubmit={submit} class="grid-form">
        <div>
          <label for="invite-name">{t.displayName}</label>
          <input
            id="invite-name"
            required
            maxLength={120}
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </div>
        <div>
          <label for="invite-login">{t.login}</label>
          <input
            id="invite-login"
            required
            pattern="[a-z0-9][a-z0-9._\-]{1,63}"
            autocomplete="off"
            value={login}
            onInput={(e) => setLogin(e.currentTarget.value)}
          />
        </div>
        <div>
          <label for="invite-inbox">{t.inbox}</label>
          <select id="invite-inbox" value={chosenInbox} onChange={(e) => setInbox(e.currentTarget.value)}>
            {props.managed.map((id) => (
              <option value={id}>{props.inboxName(id)}</option>
            ))}
          </select>
        </div>
        <div>
          <label for="invite-role">{t.role}</label>
          <select
            id="invite-role"
            value={role}
            onChange={(e) => setRole(e.currentTarget.value as 'coordinator' | 'admin')}
          >
            <option value="coordinator">{t.roles.coordinator}</option>
            <option value="admin">{t.roles.admin}</option>
          </select>
        </div>
        <div>
          <button type="submit" disabled={props.managed.length === 0}>
            {t.inviteButton}
          </button>
        </div>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {link && (
        <div class="invite-link">
          <label for="invite-url">{t.inviteLink}</label>
          <input id="invite-url" ref={linkField} readOnly value={link} />
          <button type="button" class="copy" onClick={copy}>
            {t.copy}
          </button>
          <span role="status">{copied ? t.copied : ''}</span>
        </div>
      )}
    </section>
  );
}

function GrantForm(props: {
  ctx: Ctx;
  accounts: Account[];
  managed: string[];
  inboxName: (id: string) => string;
  act: (fn: () => Promise<string | undefined>) => Promise<void>;
}) {
  const { t } = props.ctx;
  const [inbox, setInbox] = useState('');
  const [who, setWho] = useState('');
  const [busy, setBusy] = useState(false);
  const chosenInbox = inbox || props.managed[0] || '';
  const candidates = props.accounts.filter((a) => !a.disabled);
  const chosen = candidates.find((a) => a.id === who) ?? candidates[0];

  async function submit(e: Event) {
    e.preventDefault();
    if (!chosen || !chosenInbox) return;
    setBusy(true);
    await props.act(async () => {
      try {
        const mine = await api<{
          items: { reportId: string; sealedKey: string | null }[];
          followUps?: { followUpId: string; sealedKey: string | null }[];
        }>('GET', `/admin/inboxes/${encodeURIComponent(chosenInbox)}/keys`);
        const resealed = keys.resealFor(
          // Reports this admin cannot open itself are skipped (it has nothing to re-seal).
          mine.items.filter((k): k is { reportId: string; sealedKey: string } => k.sealedKey !== null),
          chosen.publicKey,
        );
        // The person's messages (web page) have their own data keys: re-sealed here too.
        const messages = keys.resealFollowUpsFor(
          (mine.followUps ?? []).filter(
            (k): k is { followUpId: string; sealedKey: string } => k.sealedKey !== null,
          ),
          chosen.publicKey,
        );
        const r = await api<{ granted: number }>('POST', '/admin/grants', {
          coordinatorId: chosen.id,
          inbox: chosenInbox,
          keys: resealed,
          followUpKeys: messages,
        });
        return t.granted(r.granted);
      } finally {
        setBusy(false);
      }
    });
  }

  return (
    <section aria-labelledby="grant-title">
      <h2 id="grant-title">{t.grantSection}</h2>
      <p>{t.grantHelp}</p>
      <form onSubmit={submit} class="grid-form">
        <div>
          <label for="grant-account">{t.grantAccount}</label>
          <select id="grant-account" value={chosen?.id ?? ''} onChange={(e) => setWho(e.currentTarget.value)}>
            {candidates.map((a) => (
              <option value={a.id}>
                {a.name} ({a.login})
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="grant-inbox">{t.inbox}</label>
          <select id="grant-inbox" value={chosenInbox} onChange={(e) => setInbox(e.currentTarget.value)}>
            {props.managed.map((id) => (
              <option value={id}>{props.inboxName(id)}</option>
            ))}
          </select>
        </div>
        <div>
          <button type="submit" disabled={busy || !chosen || !chosenInbox}>
            {t.grantButton}
          </button>
        </div>
      </form>
    </section>
  );
}
