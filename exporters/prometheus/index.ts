import type { Exporter } from '../../agent/contracts/exporter.js';
import { PrometheusPart } from './part.js';

/** /metrics, /healthz and /api/devices over HTTP: always on. */
export const prometheusExporter: Exporter = {
  name: 'prometheus',
  create: (config, deps) => new PrometheusPart(config, deps),
};
