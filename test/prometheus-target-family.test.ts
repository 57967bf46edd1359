import { describe, expect, it } from 'vitest';
import { PollStats } from '../agent/poll-stats.js';
import { TargetSuccessFamily } from '../exporters/prometheus/target-family.js';

function written(family: TargetSuccessFamily): string[] {
  const segment = family.segment();
  return Buffer.concat(segment?.views ?? [])
    .toString()
    .split('\n')
    .filter((line) => line.startsWith('potencia_target_poll_success{'));
}

describe('potencia_target_poll_success', () => {
  it('follows every target that comes, goes or flips, though its bytes are kept between scrapes', () => {
    const polls = new PollStats();
    const family = new TargetSuccessFamily(polls);
    expect(written(family)).toEqual([]);
    polls.targetPolled('cgminer://10.0.0.1:4028', true);
    polls.targetPolled('cgminer://10.0.0.2:4028', true);
    const first = written(family);
    expect(first).toEqual(['potencia_target_poll_success{target="cgminer://10.0.0.1:4028"} 1', 'potencia_target_poll_success{target="cgminer://10.0.0.2:4028"} 1']);
    // A poll that reads what it read before changes nothing, so a compressor may keep what it made of the family.
    const version = family.segment()?.identity?.version;
    polls.targetPolled('cgminer://10.0.0.2:4028', true);
    expect(written(family)).toEqual(first);
    expect(family.segment()?.identity?.version).toBe(version);
    polls.targetPolled('cgminer://10.0.0.2:4028', false);
    expect(family.segment()?.identity?.version).not.toBe(version);
    expect(written(family)).toEqual(['potencia_target_poll_success{target="cgminer://10.0.0.1:4028"} 1', 'potencia_target_poll_success{target="cgminer://10.0.0.2:4028"} 0']);
    polls.targetRemoved('cgminer://10.0.0.1:4028');
    polls.targetPolled('snmp://secret-community@10.0.0.9', true);
    expect(written(family)).toEqual(['potencia_target_poll_success{target="cgminer://10.0.0.2:4028"} 0', 'potencia_target_poll_success{target="snmp://<secret>@10.0.0.9"} 1']);
    polls.targetRemoved('cgminer://10.0.0.2:4028');
    polls.targetRemoved('snmp://secret-community@10.0.0.9');
    expect(written(family)).toEqual([]);
  });
});
