import type { DeviceAssessment } from '../../agent/economics/types.js';
import type { DeviceSnapshot } from '../../agent/snapshot.js';
import { redactSnapshot } from '../../agent/redact.js';
import type { DeviceChange, DeviceStoreView } from '../../agent/contracts/part.js';
import type { MqttConfig } from '../../config/mqtt-schema.js';
import {
  meaningfulAssessmentChange,
  meaningfulChange,
  readingEvents,
  recommendationEvent,
  siteTotals,
  type DeviceEvent,
  type EconomicsView,
  type PublishedState,
} from './change.js';
import { discoverySignature, discoveryTopic, homeAssistantDiscovery, sensorsFor } from './home-assistant.js';
import type { Backlog } from './pump.js';
import type { OutboundMessage } from './queue.js';
import type { PublisherTimers } from './timers.js';
import type { TopicLayout } from './topics.js';

export interface ChangePlannerOptions {
  config: MqttConfig;
  topics: TopicLayout;
  site: string;
  store: DeviceStoreView;
  economics?: EconomicsView;
  version?: string;
  timers: PublisherTimers;
  /** Site totals are recomputed at most this often (they sum the whole store). */
  siteIntervalMs: number;
  /** Hands a message to the queue. */
  enqueue(message: OutboundMessage): void;
  /** Whether a message with this key waits in the queue. */
  queued(key: string): boolean;
}

interface DeviceTrack {
  /** The state last queued or sent: change detection compares against it, so a slow drift adds up. */
  state?: DeviceSnapshot;
  assessment?: DeviceAssessment;
  /** The planned activity last published: a change is a new state. */
  plannedActivity?: string;
  /** Whether the assessment was read before: the first reading of one is no change to report. */
  assessed?: boolean;
  lastSentAt: number;
  discovery?: string;
}

const STATE_KEY = 'state:';

/**
 * Decides what the broker must hear: a reading or assessment that changed enough, the events it
 * raises, discovery configs, the site totals, a removed device's retained topics, and the
 * republishing that heartbeats and reconnects call for (the backlog the pump drains).
 */
export class ChangePlanner implements Backlog {
  readonly #opts: ChangePlannerOptions;
  readonly #config: MqttConfig;
  readonly #topics: TopicLayout;
  readonly #timers: PublisherTimers;
  readonly #tracks = new Map<string, DeviceTrack>();
  /** Devices to (re)publish from the store as they are when sent: after a connect, and heartbeats. */
  readonly #due = new Set<string>();
  /** Messages rendered from the backlog that must go out together (discovery configs before their state). */
  readonly #pending: OutboundMessage[] = [];
  #siteDue = false;
  #siteTimer: unknown;
  #stopped = false;

  constructor(opts: ChangePlannerOptions) {
    this.#opts = opts;
    this.#config = opts.config;
    this.#topics = opts.topics;
    this.#timers = opts.timers;
  }

  get empty(): boolean {
    return this.#pending.length === 0 && this.#due.size === 0 && !this.#siteDue;
  }

  /** No more site totals are scheduled. */
  stop(): void {
    this.#stopped = true;
    this.#timers.clearTimeout(this.#siteTimer);
  }

  /** Every device and the site totals, for a broker that may have lost its retained messages (restart without persistence). */
  republishAll(): void {
    for (const id of this.#storeIds()) this.#due.add(id);
    this.#siteDue = true;
  }

  /** Marks the devices not sent for a heartbeat (and the site totals) due; true when any was. */
  heartbeatDue(): boolean {
    const cutoff = this.#timers.now() - this.#config.heartbeat;
    let any = false;
    for (const [id, track] of this.#tracks) {
      if (track.lastSentAt <= cutoff && !this.#opts.queued(STATE_KEY + id)) {
        this.#due.add(id);
        any = true;
      }
    }
    if (any) this.#siteDue = true;
    return any;
  }

  onStoreChange(change: DeviceChange): void {
    const snapshot = change.device.snapshot;
    const id = snapshot.id;
    if (change.type === 'remove') {
      this.#tracks.delete(id);
      this.#due.delete(id);
      this.#event({ type: 'device_removed', device: id, at: new Date(this.#timers.now()).toISOString(), reason: change.reason });
      // An empty retained payload deletes the retained message, so a vanished device does not linger on the broker.
      if (this.#config.retain) this.#opts.enqueue({ topic: this.#topics.deviceState(id), payload: '', qos: this.#config.qos, retain: true, kind: 'state', key: STATE_KEY + id });
      if (this.#config.home_assistant.enabled) {
        for (const sensor of sensorsFor(snapshot.kind)) {
          const topic = discoveryTopic(this.#config.home_assistant.discovery_prefix, this.#opts.site, id, sensor);
          this.#opts.enqueue({ topic, payload: '', qos: 1, retain: true, kind: 'discovery', key: `discovery:${topic}` });
        }
      }
      this.#scheduleSite();
      return;
    }
    for (const event of readingEvents(change.previous?.snapshot, snapshot)) this.#event(event);
    const track = this.#track(id);
    this.#queueDiscovery(snapshot, track);
    const assessmentChanged = this.#refreshAssessment(id, track);
    if (meaningfulChange(track.state, snapshot, this.#config.deadband_ratio) || assessmentChanged) {
      this.#opts.enqueue(this.#stateMessage(snapshot, track));
      this.#scheduleSite();
    }
  }

  /** New assessments for `ids`, or for every device when undefined. */
  onAssessments(ids: readonly string[] | undefined): void {
    const targets = ids ?? [...this.#storeIds()];
    for (const id of targets) {
      const snapshot = this.#opts.store.get(id);
      if (snapshot === undefined) continue;
      const track = this.#track(id);
      if (this.#refreshAssessment(id, track)) this.#opts.enqueue(this.#stateMessage(snapshot, track));
    }
    this.#scheduleSite();
  }

  /** The next message of the backlog, rendered from the store as it is now. */
  next(): OutboundMessage | undefined {
    const pending = this.#pending.shift();
    if (pending) return pending;
    for (const id of this.#due) {
      this.#due.delete(id);
      const snapshot = this.#opts.store.get(id);
      if (snapshot === undefined) continue;
      const track = this.#track(id);
      this.#refreshAssessment(id, track);
      if (!this.#config.home_assistant.enabled) return this.#stateMessage(snapshot, track);
      // Discovery configs go first, so Home Assistant knows the entities before their state arrives.
      track.discovery = discoverySignature(snapshot);
      this.#pending.push(...this.#discoveryMessages(snapshot), this.#stateMessage(snapshot, track));
      return this.#pending.shift();
    }
    if (this.#siteDue) {
      this.#siteDue = false;
      return this.#siteMessage();
    }
    return undefined;
  }

  taken(message: OutboundMessage): void {
    if (message.kind === 'state' && message.key !== undefined) this.#due.delete(message.key.slice(STATE_KEY.length));
  }

  sending(message: OutboundMessage): void {
    if (message.kind !== 'state' || message.key === undefined) return;
    const track = this.#tracks.get(message.key.slice(STATE_KEY.length));
    if (track) track.lastSentAt = this.#timers.now();
  }

  #storeIds(): Iterable<string> {
    const ids: string[] = [];
    for (const entry of this.#opts.store.entries()) ids.push(entry.snapshot.id);
    return ids;
  }

  /** Reads the device's assessment and planned activity; true when either changed what subscribers act on (and then emits the event). */
  #refreshAssessment(id: string, track: DeviceTrack): boolean {
    const economics = this.#opts.economics;
    if (!economics) return false;
    const next = economics.assessment(id);
    const plannedActivity = economics.get?.(id)?.planned?.activity;
    const changed = track.assessed === true && (meaningfulAssessmentChange(track.assessment, next) || plannedActivity !== track.plannedActivity);
    track.plannedActivity = plannedActivity;
    if (track.assessed) {
      const event = recommendationEvent(id, track.assessment, next, new Date(this.#timers.now()));
      if (event) this.#event(event);
    }
    track.assessment = next;
    track.assessed = true;
    return changed;
  }

  #track(id: string): DeviceTrack {
    let track = this.#tracks.get(id);
    if (!track) {
      track = { lastSentAt: this.#timers.now() };
      this.#tracks.set(id, track);
    }
    return track;
  }

  #stateMessage(snapshot: DeviceSnapshot, track: DeviceTrack): OutboundMessage {
    track.state = snapshot;
    const assessment = this.#opts.economics?.assessment(snapshot.id);
    const planned = this.#opts.economics?.get?.(snapshot.id)?.planned;
    const published = redactSnapshot(snapshot);
    const state: PublishedState = assessment === undefined ? published : { ...published, assessment, ...(planned && { planned }) };
    return {
      topic: this.#topics.deviceState(snapshot.id),
      payload: JSON.stringify(state),
      qos: this.#config.qos,
      retain: this.#config.retain,
      kind: 'state',
      key: STATE_KEY + snapshot.id,
    };
  }

  #queueDiscovery(snapshot: DeviceSnapshot, track: DeviceTrack): void {
    if (!this.#config.home_assistant.enabled) return;
    const signature = discoverySignature(snapshot);
    if (track.discovery === signature) return;
    track.discovery = signature;
    for (const message of this.#discoveryMessages(snapshot)) this.#opts.enqueue(message);
  }

  #discoveryMessages(snapshot: DeviceSnapshot): OutboundMessage[] {
    return homeAssistantDiscovery(snapshot, {
      discoveryPrefix: this.#config.home_assistant.discovery_prefix,
      site: this.#opts.site,
      stateTopic: this.#topics.deviceState(snapshot.id),
      statusTopic: this.#topics.status,
      ...(this.#opts.version !== undefined && { version: this.#opts.version }),
    }).map(({ topic, config }) => ({ topic, payload: JSON.stringify(config), qos: 1, retain: true, kind: 'discovery', key: `discovery:${topic}` }));
  }

  #event(event: DeviceEvent): void {
    this.#opts.enqueue({ topic: this.#topics.events, payload: JSON.stringify(event), qos: this.#config.qos, retain: false, kind: 'event' });
  }

  #siteMessage(): OutboundMessage {
    const totals = siteTotals(this.#opts.site, this.#opts.store.values(), this.#opts.economics?.sitePlan(), new Date(this.#timers.now()));
    return { topic: this.#topics.site, payload: JSON.stringify(totals), qos: this.#config.qos, retain: this.#config.retain, kind: 'site', key: 'site' };
  }

  #scheduleSite(): void {
    if (this.#siteTimer !== undefined || this.#stopped) return;
    this.#siteTimer = this.#timers.setTimeout(() => {
      this.#siteTimer = undefined;
      this.#opts.enqueue(this.#siteMessage());
    }, this.#opts.siteIntervalMs);
  }
}
