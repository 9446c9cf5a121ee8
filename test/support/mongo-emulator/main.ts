import { parseArgs } from 'node:util';
import { startMongoEmulator } from './server.js';

/**
 * `npm run mongo-emulator -- [--port 27018] [--host 127.0.0.1] [--replica-set rs0]`
 * Starts the test-only MongoDB wire-protocol emulator (it is not MongoDB) until interrupted.
 */
const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '27018' },
    host: { type: 'string', default: '127.0.0.1' },
    'replica-set': { type: 'string' },
  },
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be a port number, not ${values.port}`);
  process.exit(2);
}

try {
  const emulator = await startMongoEmulator({ host: values.host, port, replicaSet: values['replica-set'] });
  const mode = values['replica-set'] ? ` as single-node replica set ${values['replica-set']}` : '';
  console.log(
    `MongoDB wire-protocol emulator (not MongoDB) listening on mongodb://${emulator.host.includes(':') ? `[${emulator.host}]` : emulator.host}:${emulator.port}${mode}`,
  );
  const stop = () => void emulator.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (error) {
  console.error(`the emulator could not start: ${(error as Error).message}`);
  process.exit(1);
}
