import type { Exporter } from '../../agent/contracts/exporter.js';
import { PrometheusPart } from './part.js';
import { loadWebConfig } from './web-config.js';

/** /metrics, /healthz and /api/devices over HTTP: always on. */
export const prometheusExporter: Exporter = {
  name: 'prometheus',
  create: (config, deps) => new PrometheusPart(config, deps),
  check: async (config) => {
    if (config.agent.web_config_file !== undefined) await loadWebConfig(config.agent.web_config_file);
  },
};
