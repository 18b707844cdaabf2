// Reads config files for this build: the config layer's loaders with the authenticator ids of the registered
// faces, so a route naming an unknown authenticator fails at start (and in check-config and on reload) with the
// list of known ids, among every other problem of the file.

import { loadConfigFile as loadFile, loadConfigText as loadText, resolveConfig as resolve, type Config, type ConfigOverrides, type LoadOptions } from './config/load.js';
import { KNOWN_AUTHENTICATOR_IDS } from './faces/registry.js';

type Options = Omit<LoadOptions, 'authenticatorIds'>;

export const loadConfigFile = (file: string, overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): Promise<Config> =>
  loadFile(file, { overrides, env, authenticatorIds: KNOWN_AUTHENTICATOR_IDS });

export const loadConfigText = (text: string, options: Options = {}): Promise<Config> => loadText(text, { ...options, authenticatorIds: KNOWN_AUTHENTICATOR_IDS });

export const resolveConfig = (raw: unknown, options: Options = {}): Promise<Config> => resolve(raw, { ...options, authenticatorIds: KNOWN_AUTHENTICATOR_IDS });
