import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

/**
 * Database servers a fault test starts for itself (a fresh data folder in a temporary directory,
 * its own port on 127.0.0.1), so it can freeze or kill them without touching the machine's shared
 * servers. The binaries are the installed PostgreSQL and MariaDB packages; a missing binary is a
 * failure, not a skip.
 */

const run = promisify(execFile);

export interface OwnServer {
  /** An admin URL (postgres://postgres@… or mysql://root@…). */
  url: string;
  /** Stops every process of the server (SIGSTOP): connections stay open, nothing answers. */
  freeze(): Promise<void>;
  /** Lets it run again (SIGCONT). */
  thaw(): void;
  /** Stops it for good and removes its files. */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** The server's process and its children (PostgreSQL forks a process per connection). */
async function processTree(pid: number): Promise<number[]> {
  const children = await run('pgrep', ['-P', String(pid)]).then(
    (r) => r.stdout.split('\n').filter(Boolean).map(Number),
    () => [] as number[],
  );
  return [pid, ...children];
}

function signalAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // Gone already (a backend that ended).
    }
  }
}

const isRoot = () => process.getuid?.() === 0;

/** Runs a command as `user` when we are root (initdb refuses root), else as ourselves. */
const asUser = (user: string, command: string, args: string[]) =>
  isRoot() ? run('runuser', ['-u', user, '--', command, ...args]) : run(command, args);

export async function startOwnPostgres(): Promise<OwnServer> {
  const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').sort() : [];
  const version = versions.at(-1);
  if (!version) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql');
  const bin = (name: string) => `/usr/lib/postgresql/${version}/bin/${name}`;
  const dir = await mkdtemp(join(tmpdir(), 'polystore-own-pg-'));
  const data = join(dir, 'data');
  if (isRoot()) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const port = await freePort();
  await asUser('postgres', bin('initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  await asUser('postgres', bin('pg_ctl'), [
    '-D',
    data,
    '-o',
    options,
    '-l',
    join(dir, 'log'),
    '-w',
    '-t',
    '30',
    'start',
  ]);
  const postmaster = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  return ownServer(`postgres://postgres@127.0.0.1:${port}/postgres`, postmaster, async () => {
    await asUser('postgres', bin('pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
}

function ownServer(url: string, pid: number, remove: () => Promise<void>): OwnServer {
  let frozen: number[] = [];
  return {
    url,
    async freeze() {
      frozen = await processTree(pid);
      signalAll(frozen, 'SIGSTOP');
    },
    thaw() {
      signalAll(frozen, 'SIGCONT');
      frozen = [];
    },
    async stop() {
      signalAll(frozen, 'SIGCONT');
      await remove();
    },
  };
}

/** A MariaDB server of the test's own: root without a password, on its own port and socket. */
export async function startOwnMariadb(): Promise<OwnServer> {
  if (!existsSync('/usr/sbin/mariadbd')) throw new Error('no MariaDB server binary at /usr/sbin/mariadbd');
  const dir = await mkdtemp(join(tmpdir(), 'polystore-own-mariadb-'));
  const data = join(dir, 'data');
  const user = isRoot() ? ['--user=root'] : [];
  await run('mariadb-install-db', [
    '--no-defaults',
    `--datadir=${data}`,
    '--skip-test-db',
    '--auth-root-authentication-method=normal',
    ...user,
  ]);
  const port = await freePort();
  const socket = join(dir, 'mariadb.sock');
  const child = spawn(
    '/usr/sbin/mariadbd',
    [
      '--no-defaults',
      `--datadir=${data}`,
      `--port=${port}`,
      `--socket=${socket}`,
      '--bind-address=127.0.0.1',
      '--skip-log-bin',
      '--innodb-buffer-pool-size=32M',
      '--innodb-log-file-size=8M',
      `--pid-file=${join(dir, 'pid')}`,
      ...user,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (log += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `mysql://root@127.0.0.1:${port}/mysql`;
  const mysql = await import('mysql2/promise');
  for (let attempt = 0; ; attempt++) {
    try {
      const c = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', connectTimeout: 1000 });
      await c.end();
      break;
    } catch (error) {
      if (attempt > 100 || child.exitCode !== null) {
        child.kill('SIGKILL');
        await rm(dir, { recursive: true, force: true });
        throw new Error(`the test's own MariaDB did not start: ${(error as Error).message}\n${log.slice(-2000)}`);
      }
      await sleep(200);
    }
  }
  return ownServer(url, child.pid!, async () => {
    child.kill('SIGKILL');
    await exited;
    await rm(dir, { recursive: true, force: true });
  });
}
