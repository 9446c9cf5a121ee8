/**
 * A first-come, first-served async lock. SQLite through better-sqlite3 is one connection, so a
 * second transaction started while one is open would become part of it; queuing whole units of
 * work keeps them apart. A unit that finds the lock free starts at once, in the caller's own
 * turn: most SQLite work takes microseconds and would otherwise wait a promise hop for nothing.
 */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  /** Units started or waiting that have not settled yet. */
  private pending = 0;

  run<T>(work: () => Promise<T>): Promise<T> {
    const free = this.pending === 0;
    this.pending += 1;
    const result = free ? start(work) : this.tail.then(work);
    // The next caller waits for this one to settle, whether it succeeded or not.
    this.tail = result.then(
      () => {
        this.pending -= 1;
      },
      () => {
        this.pending -= 1;
      },
    );
    return result;
  }
}

function start<T>(work: () => Promise<T>): Promise<T> {
  try {
    return work();
  } catch (error) {
    return Promise.reject(error);
  }
}
