/**
 * A first-come, first-served async lock. SQLite through better-sqlite3 is one connection with
 * one TypeORM query runner, so a second transaction started while one is open would become a
 * nested savepoint of it; queuing whole units of work keeps them apart.
 */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work);
    // The next caller waits for this one to settle, whether it succeeded or not.
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
