import { z } from 'zod';

/**
 * The web config file (`agent.web_config_file`): the format of the Prometheus exporter-toolkit, so the
 * file node_exporter reads with `--web.config.file` works here too. Keys this agent cannot honour
 * (cipher suites, curve preferences, HTTP/2 switches) are errors rather than silently ignored.
 */

const TLS_VERSIONS = ['TLS10', 'TLS11', 'TLS12', 'TLS13'] as const;
export type TlsVersionName = (typeof TLS_VERSIONS)[number];

export const CLIENT_AUTH_TYPES = ['NoClientCert', 'RequestClientCert', 'RequireAnyClientCert', 'VerifyClientCertIfGiven', 'RequireAndVerifyClientCert'] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

/** A bcrypt hash as htpasswd -B and Python's bcrypt write it. */
const BCRYPT_HASH = /^\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}$/;

const tlsServerSchema = z
  .strictObject({
    cert_file: z.string().min(1).describe('PEM certificate (chain) the server presents.'),
    key_file: z.string().min(1).describe('PEM private key of cert_file.'),
    client_auth_type: z.enum(CLIENT_AUTH_TYPES).default('NoClientCert').describe('Whether clients must present a certificate, as Go names the policies.'),
    client_ca_file: z.string().min(1).optional().describe('PEM CA that client certificates must chain to.'),
    min_version: z.enum(TLS_VERSIONS).default('TLS12'),
    max_version: z.enum(TLS_VERSIONS).default('TLS13'),
  })
  .superRefine((tls, ctx) => {
    if (TLS_VERSIONS.indexOf(tls.min_version) > TLS_VERSIONS.indexOf(tls.max_version)) {
      ctx.addIssue({ code: 'custom', path: ['max_version'], message: `must not be below min_version (${tls.min_version})` });
    }
    const verifies = tls.client_auth_type === 'VerifyClientCertIfGiven' || tls.client_auth_type === 'RequireAndVerifyClientCert';
    if (verifies && tls.client_ca_file === undefined) {
      ctx.addIssue({ code: 'custom', path: ['client_ca_file'], message: `is required with client_auth_type ${tls.client_auth_type}` });
    }
  });

export const webConfigSchema = z.strictObject({
  tls_server_config: tlsServerSchema.optional(),
  basic_auth_users: z
    .record(
      z
        .string()
        .min(1)
        .max(256)
        .regex(/^[^:]+$/, 'a user name may not contain ":"'),
      z.string().regex(BCRYPT_HASH, 'expected a bcrypt hash like "$2y$10$…" (htpasswd -nBC 10 USER)'),
    )
    .optional()
    .describe('User name → bcrypt hash of the password; when present every endpoint but /healthz needs HTTP basic auth.'),
});
