import 'vitest';
import type { ServerMap } from './servers.js';

declare module 'vitest' {
  export interface ProvidedContext {
    servers: ServerMap;
  }
}
