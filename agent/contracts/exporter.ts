/**
 * The contract of an exporter plugin: one folder under exporters/, registered by one line in
 * exporters/index.ts. The composition root builds each from the config with what it may read.
 */
import type { Config } from '../../config/schema.js';
import type { EconomicSignalSource, EconomicsReader } from './economics.js';
import type { AgentPart, DiscoveryStatus } from './part.js';

export interface ExporterDeps {
  /** Present when the config has an `economics:` section. */
  economics?: EconomicsReader | undefined;
  /** Present when the config has a `discovery:` section. */
  discovery?: { readonly status: DiscoveryStatus } | undefined;
  /** `--listen` from the command line, for an exporter that serves HTTP. */
  listenOverride?: string | undefined;
}

export interface ExporterPart extends AgentPart {
  /** Signals the exporter receives from outside (demand response, a power price) for economics to follow. */
  readonly signals?: EconomicSignalSource;
}

export interface Exporter {
  readonly name: string;
  /** The part to run, or undefined when the config does not ask for this exporter. */
  create(config: Config, deps: ExporterDeps): ExporterPart | undefined;
  /** For check-config: reads the files of its own the config names, rejecting with a ConfigError that says what is wrong. */
  check?(config: Config): Promise<void>;
}
