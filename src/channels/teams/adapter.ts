/**
 * The botbuilder side of the Teams channel: the CloudAdapter built from botbuilder's own settings. This is
 * the only module that loads botbuilder (about 0.5 s and 30 MB): the channel imports it on the first Teams
 * request or notice, so a process that serves no Teams traffic never loads it (see index.ts).
 */
import {
  type Activity,
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  type ConfigurationBotFrameworkAuthenticationOptions,
  type ConversationReference,
  type TurnContext,
} from 'botbuilder';
import type { TeamsConfig } from './config.js';

export type { Activity, ConversationReference, TurnContext };

/** Builds the adapter. With an empty app id botbuilder skips authentication (local mode). */
export function createAdapter(config: TeamsConfig): CloudAdapter {
  const settings: ConfigurationBotFrameworkAuthenticationOptions = config.appId
    ? {
        MicrosoftAppId: config.appId,
        MicrosoftAppPassword: config.appPassword,
        MicrosoftAppType: config.appType,
        MicrosoftAppTenantId: config.tenantId,
      }
    : // botbuilder asserts an app id for SingleTenant; the no-auth mode is its MultiTenant default with no id.
      { MicrosoftAppId: '', MicrosoftAppPassword: '' };
  const adapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication(settings));
  // Errors inside our turn logic are caught by the channel itself; this is the last resort.
  adapter.onTurnError = async (_context, error) => {
    throw error;
  };
  return adapter;
}
