/**
 * The invitee's side of an invitation (no session: the one-time token is the credential). `lookup` tells
 * the page whom the link invites; `accept` creates the account from the public material the invitee's
 * browser made (key pair, Argon2id salt, login key, wrapped private key, signing public key). The
 * passphrase, the wrap key and the private key never leave that browser. Both are rate limited per address
 * like the login. The token travels in a POST body, never in a URL.
 */
import type { FastifyInstance } from 'fastify';
import { acceptInvitation, lookupInvitation } from '../coordinators/index.js';
import { decodeBytes, KEY_BYTES } from '../crypto/index.js';
import { B64URL, ERROR, refuse, UUID } from './context.js';

const TOKEN = B64URL(43, 43);
const GONE: Record<string, string> = {
  used: 'this invitation was already used',
  expired: 'this invitation has expired: ask for a new one',
  revoked: 'this invitation was revoked',
};

export async function invitationRoutes(app: FastifyInstance) {
  const { db, config } = app.intake;
  const { options } = app.inbox;
  const limit = { max: options.loginPerMinute, timeWindow: 60_000 };
  const keyring = () => app.intake.pipeline.keyring;

  app.post<{ Body: { token: string } }>(
    '/invitations/lookup',
    {
      config: { inboxPublic: true, sensitive: true, rateLimit: limit },
      schema: {
        summary: 'Whom an invitation link invites (login, name, role, inbox, expiry)',
        tags: ['inbox invitations'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['token'],
          properties: { token: TOKEN },
        },
        response: { 404: ERROR, 410: ERROR },
      },
    },
    async (request, reply) => {
      const found = await lookupInvitation(db, keyring(), request.body.token);
      if (found.status === 'unknown') return refuse(reply, 404, 'unknown', 'no such invitation');
      if (found.status !== 'open') return refuse(reply, 410, found.status, GONE[found.status]!);
      const i = found.invitation;
      return {
        login: i.login,
        name: i.name,
        role: i.role,
        inbox: { id: i.inbox, name: config.inboxes.find((x) => x.id === i.inbox)?.name ?? i.inbox },
        expiresAt: i.expiresAt.toISOString(),
      };
    },
  );

  app.post<{
    Body: {
      token: string;
      id: string;
      publicKey: string;
      wrappedPrivateKey: string;
      salt: string;
      loginKey: string;
      signingPublicKey: string;
    };
  }>(
    '/invitations/accept',
    {
      config: { inboxPublic: true, sensitive: true, rateLimit: limit },
      schema: {
        summary: 'Use an invitation: the account is created from the key material made in this browser',
        description:
          'Exactly the public material `POST /admin/coordinators` takes; login, name, role and inbox come from ' +
          'the invitation. Single use: a second use answers 410 `used`, an expired link 410 `expired`.',
        tags: ['inbox invitations'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['token', 'id', 'publicKey', 'wrappedPrivateKey', 'salt', 'loginKey', 'signingPublicKey'],
          properties: {
            token: TOKEN,
            id: UUID,
            publicKey: B64URL(43, 43),
            wrappedPrivateKey: B64URL(40, 200),
            salt: B64URL(22, 22),
            loginKey: B64URL(43, 43),
            signingPublicKey: B64URL(43, 43),
          },
        },
        response: { 404: ERROR, 409: ERROR, 410: ERROR },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const loginKey = decodeBytes(b.loginKey, KEY_BYTES);
      try {
        const r = await acceptInvitation(db, keyring(), b.token, {
          id: b.id,
          publicKey: b.publicKey,
          wrappedPrivateKey: b.wrappedPrivateKey,
          salt: b.salt,
          loginKey,
          signingPublicKey: b.signingPublicKey,
        });
        if (r.status === 'accepted') return reply.code(201).send({ id: r.coordinatorId, login: r.login });
        if (r.status === 'unknown') return refuse(reply, 404, 'unknown', 'no such invitation');
        if (r.status === 'login_taken')
          return refuse(
            reply,
            409,
            'exists',
            'this login or id was taken meanwhile: ask for a new invitation',
          );
        return refuse(reply, 410, r.status, GONE[r.status]!);
      } finally {
        loginKey.fill(0);
      }
    },
  );
}
