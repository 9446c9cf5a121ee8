import type { CommandEvent } from '../support/mongo-emulator/engine.js';
import type { RunningEmulator } from '../support/mongo-emulator/server.js';
import type { Doc } from '../support/mongo-emulator/values.js';

/**
 * Runs `command` on the emulator right before the first command matching `match` — what a
 * concurrent writer (or another process's recovery) doing it at that moment would do. The
 * emulator runs commands one at a time in the order they arrive, and `command` is queued first.
 * Resolves with its reply.
 */
export function interpose(
  emulator: RunningEmulator,
  match: (event: CommandEvent) => boolean,
  db: string,
  command: Doc,
): Promise<Doc> {
  return new Promise((resolve) => {
    const stop = emulator.onCommand((event) => {
      if (event.db !== db || !match(event)) return;
      stop();
      void emulator.engine.execute(db, command, 0).then(resolve);
    });
  });
}
