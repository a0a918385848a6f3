/**
 * The indexes of one update pass by id: listed once and shared by every project, listed
 * once more for an id the list does not know (an index registered during the pass), and
 * listed again by the next project when a listing failed (the project that asked fails).
 */
import { defer, from, map, mergeMap, of, shareReplay, type Observable, type ObservableInput } from 'rxjs';
import type { PackageIndex } from '../../domain/types.js';

type Indexes = ReadonlyMap<number, PackageIndex>;

export class IndexLookup {
  private listing: Observable<Indexes> | null = null;
  private readonly relisted = new Set<number>();

  constructor(private readonly list: () => ObservableInput<readonly PackageIndex[]>) {}

  /** The index with this id, or null when a fresh listing does not know it either. */
  find(id: number): Observable<PackageIndex | null> {
    return defer(() => this.current()).pipe(
      mergeMap((indexes) => {
        const found = indexes.get(id);
        if (found || this.relisted.has(id)) return of(found ?? null);
        this.relisted.add(id);
        this.listing = null;
        return this.current().pipe(map((again) => again.get(id) ?? null));
      }),
    );
  }

  /** The shared listing; shareReplay lists again for the next subscriber once one failed. */
  private current(): Observable<Indexes> {
    this.listing ??= defer(() => from(this.list())).pipe(
      map((indexes): Indexes => new Map(indexes.map((index) => [index.id, index]))),
      shareReplay(1),
    );
    return this.listing;
  }
}
