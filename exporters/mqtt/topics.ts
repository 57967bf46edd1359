/**
 * The topic layout, in one place:
 *
 *   <prefix>/status                  "online" | "offline", retained; "offline" is also the last will
 *   <prefix>/devices/<id>/state      device JSON (as /api/devices gives it, plus `assessment`), retained
 *   <prefix>/events                  device_down, device_up, alert_changed, recommendation_changed, device_removed
 *   <prefix>/site                    totals (devices, up, hashrate, power) and the site plan, retained
 *   <prefix>/signals/demand_response default topic read for demand-response requests
 *   <prefix>/signals/power_price     default topic read for power price overrides
 *
 * The prefix defaults to `potencia/<site>`, site being the `site` label or "default".
 */

/** Home Assistant's discovery topics allow only these characters in node and object ids. */
const HA_ID_UNSAFE = /[^a-zA-Z0-9_-]+/g;

/**
 * A device id (or site name) as one topic level. Ids hold `/` (`asic/10.0.1.15`), which would split
 * the level, and could in principle hold `+` or `#`, which are wildcards to subscribers. Those, `%`
 * itself, and control characters are percent-encoded, so `asic/10.0.1.15` → `asic%2F10.0.1.15`;
 * everything else stays readable. `decodeURIComponent` reverses it exactly.
 */
export function encodeTopicLevel(value: string): string {
  return value.replace(/[/+#%\u0000-\u001f\u007f]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

export function decodeTopicLevel(level: string): string {
  return decodeURIComponent(level);
}

/** The `site` label of the agent, or "default". */
export function siteOf(labels: Readonly<Record<string, string>>): string {
  const site = labels.site;
  return site === undefined || site === '' ? 'default' : site;
}

export function defaultTopicPrefix(site: string): string {
  return `potencia/${encodeTopicLevel(site)}`;
}

export interface TopicLayout {
  readonly prefix: string;
  readonly status: string;
  readonly events: string;
  readonly site: string;
  readonly demandResponse: string;
  readonly powerPrice: string;
  deviceState(deviceId: string): string;
}

export function topicLayout(prefix: string, signals: { demand_response_topic?: string; power_price_topic?: string } = {}): TopicLayout {
  return {
    prefix,
    status: `${prefix}/status`,
    events: `${prefix}/events`,
    site: `${prefix}/site`,
    demandResponse: signals.demand_response_topic ?? `${prefix}/signals/demand_response`,
    powerPrice: signals.power_price_topic ?? `${prefix}/signals/power_price`,
    deviceState: (deviceId) => `${prefix}/devices/${encodeTopicLevel(deviceId)}/state`,
  };
}

/**
 * An id fit for Home Assistant's node_id / object_id and unique_id: runs of anything but
 * [a-zA-Z0-9_-] become one `_` (`asic/10.0.1.15` → `asic_10_0_1_15`).
 */
export function homeAssistantId(value: string): string {
  return value.replace(HA_ID_UNSAFE, '_').replace(/^_+|_+$/g, '') || '_';
}

/** MQTT topic matching for the filters we subscribe with (`+` one level, `#` the rest). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
