/**
 * The Teams app package: teams/manifest.json with the bot's app id filled in and, with an https public
 * address, that address's host in `validDomains` (Teams opens a dialog only on a listed domain), plus its
 * two icons, zipped flat as Teams expects for sideloading ("Upload a custom app"). The manifest is checked
 * against Microsoft's schema of the version it declares in tests/channels/teams/package.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT_DIR } from '../../paths.js';
import { publicHost } from '../../webflow/url.js';
import { zip } from './zip.js';

const PLACEHOLDER = '{{MICROSOFT_APP_ID}}';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Thrown when the package cannot be built; the message is safe to print. */
export class TeamsPackageError extends Error {
  override name = 'TeamsPackageError';
}

export interface TeamsPackageOptions {
  /** The service's public address (PUBLIC_URL): its host goes into `validDomains` when it is https. */
  publicUrl?: string;
  /** Folder of manifest.json and the icons (tests). */
  dir?: string;
}

/** The manifest for `appId`, as JSON text (see {@link buildTeamsPackage}). */
export function teamsManifest(appId: string, options: TeamsPackageOptions = {}): string {
  if (!GUID.test(appId)) {
    throw new TeamsPackageError("the app id must be the Azure Bot's Microsoft App ID (a GUID)");
  }
  const dir = options.dir ?? join(ROOT_DIR, 'teams');
  const template = readFileSync(join(dir, 'manifest.json'), 'utf8');
  if (!template.includes(PLACEHOLDER))
    throw new TeamsPackageError(`teams/manifest.json has no ${PLACEHOLDER}`);
  let manifest: { validDomains?: string[] };
  try {
    manifest = JSON.parse(template.split(PLACEHOLDER).join(appId.toLowerCase()));
  } catch {
    throw new TeamsPackageError('teams/manifest.json is not valid JSON'); // here, not in Teams
  }
  const host = publicHost(options.publicUrl);
  if (host) manifest.validDomains = [...new Set([...(manifest.validDomains ?? []), host])];
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** Builds the app package for `appId` (the Azure Bot's Microsoft App ID, a GUID). */
export function buildTeamsPackage(appId: string, options: TeamsPackageOptions = {}): Buffer {
  const dir = options.dir ?? join(ROOT_DIR, 'teams');
  const manifest = teamsManifest(appId, options);
  return zip([
    { name: 'manifest.json', data: Buffer.from(manifest, 'utf8') },
    { name: 'color.png', data: readFileSync(join(dir, 'color.png')) },
    { name: 'outline.png', data: readFileSync(join(dir, 'outline.png')) },
  ]);
}
