/**
 * Committed offsets per group, topic and partition. Kept apart from membership because
 * they outlive it: across a broker stop/start, and for groups that commit from outside
 * (generation -1, as admin tools and `kcat` without `-G` do).
 */
export interface CommittedOffset {
  readonly offset: number;
  readonly metadata: string | null;
}

export class OffsetStore {
  /** group → topic → partition → committed offset. */
  private readonly offsets = new Map<string, Map<string, Map<number, CommittedOffset>>>();

  commit(groupId: string, topic: string, partition: number, committed: CommittedOffset): void {
    let topics = this.offsets.get(groupId);
    if (!topics) this.offsets.set(groupId, (topics = new Map<string, Map<number, CommittedOffset>>()));
    let partitions = topics.get(topic);
    if (!partitions) topics.set(topic, (partitions = new Map<number, CommittedOffset>()));
    partitions.set(partition, committed);
  }

  committed(groupId: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.offsets.get(groupId)?.get(topic)?.get(partition);
  }

  /** Every committed offset of a group (OffsetFetch v2+ with null topics). */
  all(groupId: string): { topic: string; partitions: { partition: number; committed: CommittedOffset }[] }[] {
    return [...(this.offsets.get(groupId) ?? new Map<string, Map<number, CommittedOffset>>())].map(([topic, partitions]) => ({
      topic,
      partitions: [...partitions].map(([partition, committed]) => ({ partition, committed })),
    }));
  }

  groups(): string[] {
    return [...this.offsets.keys()];
  }

  has(groupId: string): boolean {
    return this.offsets.has(groupId);
  }

  forgetGroup(groupId: string): void {
    this.offsets.delete(groupId);
  }

  forgetTopic(topic: string): void {
    for (const topics of this.offsets.values()) topics.delete(topic);
  }
}
