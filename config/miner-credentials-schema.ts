import { z } from 'zod';

/**
 * The `miner_credentials:` section: named accounts for miners' web APIs (Antminer's digest-protected
 * CGI), which a target picks with `antminer-web://NAME@HOST`. Passwords belong in `${file:...}`
 * secrets; a target's canonical URL carries only the name, and no log, metric, /api or MQTT message
 * carries the account.
 */
export const credentialNameSchema = z.string().regex(/^[A-Za-z0-9_-]+$/, 'a credential name is letters, digits, "_" and "-"');

export const minerCredentialsSchema = z
  .record(
    credentialNameSchema,
    z
      .strictObject({
        user: z.string().min(1).describe('Account name on the miner.'),
        password: z.string().min(1).describe('Its password; use ${file:/path} to read it from a secret file.'),
      })
      .describe('One web API account.'),
  )
  .describe('Named accounts for miners’ web APIs; a target uses one with antminer-web://NAME@HOST. Vendor defaults are not assumed.');

export type MinerCredentials = z.infer<typeof minerCredentialsSchema>;
