/**
 * Second-factor enrolment: asks the server for a new TOTP secret (`POST /account/totp/setup`, the one
 * round trip the secret makes), draws its otpauth:// URI as a QR code here (uqr computes the modules; the
 * SVG is built as elements, no canvas, no inline style, nothing sent anywhere else), shows the secret as
 * text for those who type it, and confirms with a current code.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { encode } from 'uqr';
import { api } from './api.js';
import type { Texts } from './i18n.js';

/** A QR code as one SVG path (dark modules), with a quiet zone; scales with its container. */
export function QrCode(props: { text: string; label: string }) {
  const { d, size } = useMemo(() => {
    const qr = encode(props.text, { ecc: 'M', border: 4 });
    let path = '';
    qr.data.forEach((row, y) => {
      row.forEach((dark, x) => {
        if (dark) path += `M${x} ${y}h1v1h-1z`;
      });
    });
    return { d: path, size: qr.size };
  }, [props.text]);
  return (
    <svg
      class="qr"
      role="img"
      aria-label={props.label}
      viewBox={`0 0 ${size} ${size}`}
      xmlns="http://www.w3.org/2000/svg"
      shape-rendering="crispEdges"
    >
      <rect width={size} height={size} fill="#fff" />
      <path d={d} fill="#000" />
    </svg>
  );
}

export function EnrollTotp(props: { t: Texts; onDone: () => void; headingLevel?: 1 | 2 }) {
  const { t } = props;
  const [setup, setSetup] = useState<{ secret: string; uri: string } | null>(null);
  const [code, setCode] = useState('');
  const [error, setError] = useState<string | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    api<{ secret: string; uri: string }>('POST', '/account/totp/setup').then(setSetup, (e) =>
      setError(String(e.message)),
    );
    heading.current?.focus();
  }, []);
  async function submit(e: Event) {
    e.preventDefault();
    try {
      await api('POST', '/account/totp/enable', { code });
      props.onDone();
    } catch {
      setError(t.totpInvalid);
    }
  }
  const H = props.headingLevel === 2 ? 'h2' : 'h1';
  return (
    <section class="totp" aria-labelledby="totp-title">
      <H id="totp-title" ref={heading} tabIndex={-1}>
        {t.enrollTotp}
      </H>
      <p>{t.enrollHelp}</p>
      {setup && (
        <>
          <QrCode text={setup.uri} label={t.qrLabel} />
          <p>
            {t.secretLabel} <code class="secret">{setup.secret}</code>
          </p>
        </>
      )}
      <form onSubmit={submit} class="stack">
        <label for="code">{t.totp}</label>
        <input
          id="code"
          inputMode="numeric"
          pattern="[0-9]{6}"
          autocomplete="one-time-code"
          required
          value={code}
          onInput={(e) => setCode(e.currentTarget.value)}
        />
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit">{t.confirm}</button>
      </form>
    </section>
  );
}
