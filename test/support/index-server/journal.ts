/**
 * Warehouse's journal: every change to a project (created, release added, file added,
 * release yanked/unyanked/removed, project removed or its status changed) is an entry with
 * the next global serial. A project's `last_serial` is its newest entry's serial; the index's
 * `_last-serial` is the newest of all.
 */
export interface JournalEntry {
  readonly serial: number;
  /** The project's display name. */
  readonly name: string;
  readonly version: string | null;
  /** Warehouse's wording, e.g. `create`, `new release`, `add py3 file x.whl`, `yank release`. */
  readonly action: string;
  readonly submittedDate: Date;
}

export class Journal {
  private readonly entries: JournalEntry[] = [];
  private last = 0;

  /** The newest serial (0 before any change). */
  get serial(): number {
    return this.last;
  }

  record(name: string, version: string | null, action: string, at: Date): number {
    this.last += 1;
    this.entries.push({ serial: this.last, name, version, action, submittedDate: at });
    // Bounded: enough for a test or a demo to read what happened, never a leak in a benchmark.
    if (this.entries.length > 10_000) this.entries.splice(0, this.entries.length - 10_000);
    return this.last;
  }

  /** Entries with a serial above `serial`, oldest first (like Warehouse's `changelog_since_serial`). */
  since(serial: number): JournalEntry[] {
    return this.entries.filter((entry) => entry.serial > serial);
  }
}
