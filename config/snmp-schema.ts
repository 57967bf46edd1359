import { z } from 'zod';

/**
 * The `snmp:` section: walk limits shared by every snmp:// target, and named SNMPv3 users that a
 * target picks with `snmp://v3:NAME@HOST`. Passwords belong in `${file:...}` secrets; they never reach
 * a log, a metric or /api/devices (a target's canonical URL carries no credentials).
 */

const secret = z.string().min(8, 'SNMPv3 passwords must be at least 8 characters (RFC 3414)');

export const snmpV3CredentialSchema = z
  .strictObject({
    user: z.string().min(1).describe('USM user name.'),
    auth_protocol: z.enum(['md5', 'sha', 'sha224', 'sha256', 'sha384', 'sha512']).default('sha').describe('Authentication protocol.'),
    auth_password: secret.optional().describe('Authentication passphrase; needed for authNoPriv and authPriv. Use ${file:/path} to read it from a secret file.'),
    priv_protocol: z
      .enum(['des', 'aes', 'aes256b', 'aes256r'])
      .default('aes')
      .describe('Privacy (encryption) protocol: aes is AES-128; aes256b / aes256r are the Blumenthal and Reeder AES-256 key extensions.'),
    priv_password: secret.optional().describe('Privacy passphrase; needed for authPriv. Use ${file:/path}.'),
    level: z
      .enum(['noAuthNoPriv', 'authNoPriv', 'authPriv'])
      .optional()
      .describe('Security level; defaults to authPriv when priv_password is set, authNoPriv when only auth_password is, else noAuthNoPriv.'),
    context: z.string().optional().describe('SNMPv3 context name (empty on most devices).'),
  })
  .superRefine((cred, ctx) => {
    const level = cred.level ?? (cred.priv_password ? 'authPriv' : cred.auth_password ? 'authNoPriv' : 'noAuthNoPriv');
    if (level !== 'noAuthNoPriv' && !cred.auth_password) ctx.addIssue({ code: 'custom', path: ['auth_password'], message: `${level} needs auth_password` });
    if (level === 'authPriv' && !cred.priv_password) ctx.addIssue({ code: 'custom', path: ['priv_password'], message: 'authPriv needs priv_password' });
  })
  .describe('One SNMPv3 user.');

export const snmpSchema = z
  .strictObject({
    retries: z
      .number()
      .int()
      .min(0)
      .max(5)
      .default(1)
      .describe('Resends of an unanswered request before the device counts as down; each try gets the target timeout divided by (retries + 1).'),
    max_repetitions: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(20)
      .describe('GETBULK max-repetitions: rows asked for per request while walking a table. Small embedded PDU agents choke on large replies.'),
    credentials: z
      .record(z.string().regex(/^[A-Za-z0-9_-]+$/, 'a credential name is letters, digits, "_" and "-"'), snmpV3CredentialSchema)
      .default({})
      .describe('Named SNMPv3 users; a target uses one with snmp://v3:NAME@HOST.'),
  })
  .describe('SNMP settings for snmp:// targets (PDUs, meters, sensors, hosts).');

export type SnmpSettings = z.infer<typeof snmpSchema>;
export type SnmpV3Credential = z.infer<typeof snmpV3CredentialSchema>;

export const DEFAULT_SNMP_SETTINGS: SnmpSettings = snmpSchema.parse({});
