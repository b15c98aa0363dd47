/**
 * The Teams app package: teams/manifest.json with the bot's app id filled in, plus its two icons, zipped
 * flat as Teams expects for sideloading ("Upload a custom app").
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT_DIR } from '../../paths.js';
import { zip } from './zip.js';

const PLACEHOLDER = '{{MICROSOFT_APP_ID}}';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Thrown when the package cannot be built; the message is safe to print. */
export class TeamsPackageError extends Error {
  override name = 'TeamsPackageError';
}

/** Builds the app package for `appId` (the Azure Bot's Microsoft App ID, a GUID). */
export function buildTeamsPackage(appId: string, dir = join(ROOT_DIR, 'teams')): Buffer {
  if (!GUID.test(appId)) {
    throw new TeamsPackageError("the app id must be the Azure Bot's Microsoft App ID (a GUID)");
  }
  const template = readFileSync(join(dir, 'manifest.json'), 'utf8');
  if (!template.includes(PLACEHOLDER))
    throw new TeamsPackageError(`teams/manifest.json has no ${PLACEHOLDER}`);
  const manifest = template.split(PLACEHOLDER).join(appId.toLowerCase());
  JSON.parse(manifest); // a broken template fails here, not in Teams
  return zip([
    { name: 'manifest.json', data: Buffer.from(manifest, 'utf8') },
    { name: 'color.png', data: readFileSync(join(dir, 'color.png')) },
    { name: 'outline.png', data: readFileSync(join(dir, 'outline.png')) },
  ]);
}
