import { Binary, Long, ObjectId } from 'bson';
import { Query } from 'mingo';
import * as admin from './admin.js';
import { Cursors } from './cursors.js';
import * as crud from './crud.js';
import { CommandError } from './errors.js';
import { violation } from './json-schema.js';
import { plan, statementsOf, type StatementPlan } from './planner.js';
import { Blocked, DirectScope, LockTable, Transaction, type Scope } from './scope.js';
import { Catalog, MINGO_OPTIONS, type Collection } from './storage.js';
import { MAX_WIRE_DOCUMENT_BYTES } from './wire.js';
import { isDoc, queryView, type Doc } from './values.js';

/**
 * The command layer of the emulator: runs one command document against the in-memory catalog and
 * returns the reply document. Commands run one at a time; a command that must wait for a
 * transaction to finish steps aside while it waits.
 */

export interface EngineOptions {
  /** Present as a single-node replica set with this name (enables transactions); else a standalone server. */
  replicaSet?: string | undefined;
}

export interface CommandContext {
  readonly emulator: Engine;
  readonly db: string;
  readonly body: Doc;
  readonly scope: Scope;
  readonly connectionId: number;
  /** Runs one statement; while a transaction holds what it touches, waits and runs it again. */
  perform<T>(statement: () => T): Promise<T>;
}

type Handler = (ctx: CommandContext) => Doc | Promise<Doc>;

/** A command as the emulator received it, for tests that assert what the adapter sends. */
export interface CommandEvent {
  db: string;
  name: string;
  command: Doc;
  /** How it arrived: the opcode (2013 OP_MSG, 2004 OP_QUERY) and the OP_MSG document sequences merged into it. */
  wire: WireInfo;
}

export interface WireInfo {
  opCode: number;
  sequences: string[];
  /** Size of a document of the message over the server's limit; the command is refused. */
  oversized?: number;
}

/** As on a server: maxWireVersion 21 is MongoDB 7.0, which driver 7 supports. */
const WIRE_VERSION = 21;
const TRANSACTION_LIFETIME_MS = 60_000;
const BLOCKED_WAIT_LIMIT_MS = 30_000;
/** Commands a transaction may run; anything else inside one is OperationNotSupportedInTransaction. */
const IN_TRANSACTION = new Set([
  'find',
  'getMore',
  'killCursors',
  'insert',
  'update',
  'delete',
  'findAndModify',
  'aggregate',
  'commitTransaction',
  'abortTransaction',
]);

/** Runs commands one at a time. A holder can step aside (release, then acquire again) while it waits. */
class Mutex {
  private tail: Promise<void> = Promise.resolve();

  async acquire(): Promise<() => void> {
    let release!: () => void;
    const previous = this.tail;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    await previous;
    return release;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class Engine {
  readonly catalog = new Catalog();
  readonly cursors = new Cursors();
  private readonly locks = new LockTable();
  private readonly direct = new DirectScope(this.locks);
  /** Session id (hex) → its latest transaction. */
  private readonly transactions = new Map<string, Transaction>();
  private readonly mutex = new Mutex();
  private readonly listeners = new Set<(event: CommandEvent) => void>();
  private readonly handlers: Record<string, Handler>;
  /** host:port the server reports as itself in replica-set mode; set once it listens. */
  me = '';

  constructor(readonly options: EngineOptions) {
    this.handlers = {
      hello: (ctx) => this.hello(ctx, false),
      isMaster: (ctx) => this.hello(ctx, true),
      ismaster: (ctx) => this.hello(ctx, true),
      ping: () => ({ ok: 1 }),
      buildInfo: () => this.buildInfo(),
      buildinfo: () => this.buildInfo(),
      endSessions: (ctx) => this.endSessions(ctx),
      commitTransaction: (ctx) => this.finishTransaction(ctx, 'commit'),
      abortTransaction: (ctx) => this.finishTransaction(ctx, 'abort'),
      find: crud.find,
      getMore: crud.getMore,
      killCursors: crud.killCursors,
      insert: crud.insert,
      update: crud.update,
      delete: crud.delete,
      findAndModify: crud.findAndModify,
      aggregate: crud.aggregate,
      count: crud.count,
      create: admin.create,
      collMod: admin.collMod,
      drop: admin.drop,
      dropDatabase: admin.dropDatabase,
      createIndexes: admin.createIndexes,
      dropIndexes: admin.dropIndexes,
      listIndexes: admin.listIndexes,
      listCollections: admin.listCollections,
    };
  }

  /** Commands this emulator implements; every other one is CommandNotFound. */
  get commandNames(): string[] {
    return Object.keys(this.handlers);
  }

  /** Calls `listener` with every command received; returns the unsubscribe function. */
  onCommand(listener: (event: CommandEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * The planner check (planner.ts) for each statement of a command: which indexes MongoDB could
   * use for it, against the indexes as they are now. Call it from an onCommand listener to judge a
   * command before it runs.
   */
  plan(event: Pick<CommandEvent, 'db' | 'name' | 'command'>): StatementPlan[] {
    const collection = event.command[event.name];
    if (typeof collection !== 'string') return [];
    const target = this.catalog.get(event.db, collection);
    return statementsOf(event.name, event.command).map(({ filter, sort }) =>
      plan(target, `${event.db}.${collection}`, event.name, filter, sort),
    );
  }

  /** Runs one command and returns its reply (errors become `ok: 0` replies). */
  async execute(
    db: string,
    body: Doc,
    connectionId: number,
    wire: WireInfo = { opCode: 2013, sequences: [] },
  ): Promise<Doc> {
    const name = Object.keys(body)[0] ?? '';
    for (const listener of this.listeners) listener({ db, name, command: body, wire });
    if (wire.oversized !== undefined) {
      const size = wire.oversized;
      return new CommandError(
        'BSONObjectTooLarge',
        `BSONObj size: ${size} (0x${size.toString(16).toUpperCase()}) is invalid. Size must be between 0 and ${MAX_WIRE_DOCUMENT_BYTES}(16MB) First element: ${name}: ${JSON.stringify(body[name])}`,
      ).toReply();
    }
    let release = await this.mutex.acquire();
    const perform = async <T>(statement: () => T): Promise<T> => {
      const deadline = Date.now() + BLOCKED_WAIT_LIMIT_MS;
      for (;;) {
        try {
          return statement();
        } catch (error) {
          if (!(error instanceof Blocked)) throw error;
          if (Date.now() > deadline)
            throw new CommandError('MaxTimeMSExpired', 'operation exceeded time limit while waiting for a transaction');
          // Step aside so other commands (the transaction's commit among them) can run meanwhile.
          release();
          await sleep(2);
          release = await this.mutex.acquire();
        }
      }
    };
    try {
      return await this.run(db, name, body, connectionId, perform);
    } finally {
      release();
    }
  }

  private async run(
    db: string,
    name: string,
    body: Doc,
    connectionId: number,
    perform: CommandContext['perform'],
  ): Promise<Doc> {
    let txn: Transaction | undefined;
    try {
      const handler = Object.hasOwn(this.handlers, name) ? this.handlers[name]! : undefined;
      if (!handler) throw new CommandError('CommandNotFound', `no such command: '${name}'`);
      this.expireTransactions();
      txn = this.transactionFor(name, body);
      const reply = await handler({ emulator: this, db, body, scope: txn ?? this.direct, connectionId, perform });
      // As on a server, a failed statement aborts the transaction it ran in.
      if (txn && Array.isArray(reply.writeErrors) && reply.writeErrors.length > 0) txn.abort();
      return reply;
    } catch (error) {
      if (txn && name !== 'abortTransaction' && name !== 'commitTransaction') txn.abort();
      if (error instanceof CommandError) return error.toReply();
      return new CommandError('InternalError', `emulator failure: ${(error as Error).message}`).toReply();
    }
  }

  /**
   * Enforces a collection's validator as validationAction `error` does; `warn` and validationLevel
   * `off` let everything through, `moderate` lets an update through when the document it
   * replaces (`before`) did not pass either.
   */
  validate(collection: Collection, doc: Doc, before?: Doc): void {
    const { validator, validationLevel, validationAction } = collection.options;
    if (!isDoc(validator) || validationLevel === 'off' || validationAction === 'warn') return;
    const { $jsonSchema, ...query } = validator;
    const failure = (d: Doc) => {
      const reason = isDoc($jsonSchema) ? violation($jsonSchema, d) : undefined;
      const queryFails =
        Object.keys(query).length > 0 && !new Query(queryView(query), MINGO_OPTIONS).test(queryView(d));
      return reason ?? (queryFails ? 'query validator did not match' : undefined);
    };
    const reason = failure(doc);
    if (reason !== undefined && validationLevel === 'moderate' && before && failure(before) !== undefined) return;
    if (reason !== undefined) {
      throw new CommandError('DocumentValidationFailure', 'Document failed validation', {
        errInfo: {
          failingDocumentId: doc._id,
          details: { operatorName: '$jsonSchema', reason },
        },
      });
    }
  }

  private transactionFor(name: string, body: Doc): Transaction | undefined {
    if (body.autocommit === undefined) return undefined;
    if (body.autocommit !== false) throw new CommandError('InvalidOptions', 'autocommit must be false');
    if (!this.options.replicaSet)
      throw new CommandError(
        'IllegalOperation',
        'Transaction numbers are only allowed on a replica set member or mongos',
      );
    const session =
      isDoc(body.lsid) && body.lsid.id instanceof Binary ? Buffer.from(body.lsid.id.buffer).toString('hex') : undefined;
    if (!session) throw new CommandError('InvalidOptions', 'a transaction needs a logical session id');
    const txnNumber = Number(body.txnNumber instanceof Long ? body.txnNumber.toNumber() : body.txnNumber);
    if (!IN_TRANSACTION.has(name))
      throw new CommandError(
        'OperationNotSupportedInTransaction',
        `Cannot run '${name}' in a multi-document transaction.`,
      );
    const existing = this.transactions.get(session);
    if (body.startTransaction === true) {
      if (existing && existing.txnNumber >= txnNumber)
        throw new CommandError(
          'TransactionTooOld',
          `txnNumber ${txnNumber} is less than last txnNumber ${existing.txnNumber} seen in session ${session}`,
        );
      existing?.abort();
      const txn = new Transaction(this.locks, session, txnNumber);
      this.transactions.set(session, txn);
      return txn;
    }
    if (!existing || existing.txnNumber !== txnNumber) throw noSuchTransaction(txnNumber);
    if (existing.state !== 'open' && name !== 'commitTransaction' && name !== 'abortTransaction')
      throw noSuchTransaction(txnNumber);
    return existing;
  }

  private finishTransaction(ctx: CommandContext, how: 'commit' | 'abort'): Doc {
    const txn = ctx.scope instanceof Transaction ? ctx.scope : undefined;
    if (!txn) throw new CommandError('InvalidOptions', `${how}Transaction must be run within a transaction`);
    if (how === 'commit') {
      if (txn.state === 'aborted') throw noSuchTransaction(txn.txnNumber);
      txn.commit();
    } else {
      if (txn.state !== 'open') throw noSuchTransaction(txn.txnNumber);
      txn.abort();
    }
    return { ok: 1 };
  }

  /** Aborts transactions older than the server's transactionLifetimeLimitSeconds (60 s), releasing their locks. */
  private expireTransactions(): void {
    const cutoff = Date.now() - TRANSACTION_LIFETIME_MS;
    for (const txn of this.transactions.values()) if (txn.state === 'open' && txn.startedAt < cutoff) txn.abort();
  }

  private endSessions(ctx: CommandContext): Doc {
    const sessions = ctx.body.endSessions;
    if (Array.isArray(sessions)) {
      for (const lsid of sessions) {
        if (!isDoc(lsid) || !(lsid.id instanceof Binary)) continue;
        const key = Buffer.from(lsid.id.buffer).toString('hex');
        this.transactions.get(key)?.abort();
        this.transactions.delete(key);
      }
    }
    return { ok: 1 };
  }

  private hello(ctx: CommandContext, legacy: boolean): Doc {
    const { replicaSet } = this.options;
    const me = this.me;
    return {
      helloOk: true,
      ...(legacy ? { ismaster: true } : { isWritablePrimary: true }),
      ...(replicaSet
        ? {
            setName: replicaSet,
            setVersion: 1,
            hosts: [me],
            primary: me,
            me,
            secondary: false,
            electionId: new ObjectId('7fffffff0000000000000001'),
          }
        : {}),
      maxBsonObjectSize: 16 * 1024 * 1024,
      maxMessageSizeBytes: 48_000_000,
      maxWriteBatchSize: 100_000,
      localTime: new Date(),
      logicalSessionTimeoutMinutes: 30,
      connectionId: ctx.connectionId,
      minWireVersion: 0,
      maxWireVersion: WIRE_VERSION,
      readOnly: false,
      ok: 1,
    };
  }

  private buildInfo(): Doc {
    return {
      version: '7.0.0',
      gitVersion: 'none: polystore wire-protocol emulator for tests (not MongoDB)',
      versionArray: [7, 0, 0, 0],
      bits: 64,
      maxBsonObjectSize: 16 * 1024 * 1024,
      ok: 1,
    };
  }
}

const noSuchTransaction = (txnNumber: number) =>
  new CommandError('NoSuchTransaction', `Transaction with { txnNumber: ${txnNumber} } has been aborted.`, {}, [
    'TransientTransactionError',
  ]);
