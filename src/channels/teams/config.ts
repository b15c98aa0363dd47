/**
 * Teams channel settings, read from the environment under botbuilder's own names (MicrosoftAppId,
 * MicrosoftAppPassword, MicrosoftAppType, MicrosoftAppTenantId) plus TEAMS_NOTICE_BATCH_SECONDS. The channel
 * is on when MicrosoftAppId is set. With no Microsoft variable at all it is off, except in development and
 * test, where it runs in local mode without authentication (the Bot Framework Emulator); any other NODE_ENV
 * (production, staging, a typo) never accepts an unauthenticated activity.
 */
import { SafeError } from '../../logger.js';

export type TeamsAppType = 'SingleTenant' | 'MultiTenant' | 'UserAssignedMSI';

export interface TeamsConfig {
  /** Empty: no authentication (development and tests only). */
  appId: string;
  appPassword: string;
  appType: TeamsAppType;
  tenantId: string;
  /** Non-immediate new-case notices are grouped over this many seconds; 0 sends each at once. */
  noticeBatchSeconds: number;
}

const APP_TYPES: readonly TeamsAppType[] = ['SingleTenant', 'MultiTenant', 'UserAssignedMSI'];
const DEFAULT_BATCH_SECONDS = 300;

/**
 * Reads and checks the Teams settings; undefined when the channel is off (no Microsoft variable outside
 * development and test). Throws SafeError (one line, no secret) when the settings cannot work: settings
 * half set (a password or tenant without an app id), an unknown app type, a SingleTenant app without
 * tenant, a bad interval.
 */
export function loadTeamsConfig(env: NodeJS.ProcessEnv, nodeEnv: string): TeamsConfig | undefined {
  const appId = (env.MicrosoftAppId ?? '').trim();
  const appPassword = env.MicrosoftAppPassword ?? '';
  const rawType = (env.MicrosoftAppType ?? '').trim() || 'SingleTenant';
  const appType = APP_TYPES.find((t) => t.toLowerCase() === rawType.toLowerCase());
  const tenantId = (env.MicrosoftAppTenantId ?? '').trim();
  const rawBatch = (env.TEAMS_NOTICE_BATCH_SECONDS ?? '').trim();
  const noticeBatchSeconds = rawBatch === '' ? DEFAULT_BATCH_SECONDS : Number(rawBatch);

  if (!appType) {
    throw new SafeError(`MicrosoftAppType must be one of ${APP_TYPES.join(', ')}`);
  }
  if (!Number.isInteger(noticeBatchSeconds) || noticeBatchSeconds < 0 || noticeBatchSeconds > 86_400) {
    throw new SafeError('TEAMS_NOTICE_BATCH_SECONDS must be a whole number of seconds between 0 and 86400');
  }
  if (!appId) {
    const halfSet = ['MicrosoftAppPassword', 'MicrosoftAppTenantId', 'MicrosoftAppType'].filter(
      (name) => (env[name] ?? '').trim() !== '',
    );
    if (halfSet.length > 0) {
      throw new SafeError(
        `Teams: ${halfSet.join(', ')} ${halfSet.length > 1 ? 'are' : 'is'} set but MicrosoftAppId is empty: set MicrosoftAppId too, or unset them to turn Teams off`,
      );
    }
    // Local mode (no authentication) only where it cannot face the internet by mistake.
    if (nodeEnv !== 'development' && nodeEnv !== 'test') return undefined;
    return { appId: '', appPassword: '', appType, tenantId: '', noticeBatchSeconds };
  }
  if (appType !== 'UserAssignedMSI' && !appPassword) {
    throw new SafeError('Teams: MicrosoftAppPassword is required when MicrosoftAppId is set');
  }
  if (appType !== 'MultiTenant' && !tenantId) {
    throw new SafeError(`Teams: MicrosoftAppTenantId is required for MicrosoftAppType=${appType}`);
  }
  return { appId, appPassword, appType, tenantId, noticeBatchSeconds };
}
