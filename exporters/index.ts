import type { Exporter } from '../agent/contracts/exporter.js';
import { mqttExporter } from './mqtt/index.js';
import { prometheusExporter } from './prometheus/index.js';

/** Every exporter, one line each, in start order; adding one is its folder plus a line here. */
export const EXPORTERS: readonly Exporter[] = [prometheusExporter, mqttExporter];
