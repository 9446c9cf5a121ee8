import {
  MongoBulkWriteError,
  MongoClientClosedError,
  MongoError,
  MongoInvalidArgumentError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerClosedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
} from 'mongodb';
import {
  DomainError,
  DuplicateError,
  TooLargeError,
  UnavailableError,
  type EntityName,
} from '../../src/domain/errors.js';

/**
 * MongoDB server error codes the adapter gives a meaning to.
 * @see https://github.com/mongodb/mongo/blob/master/src/mongo/base/error_codes.yml
 */
export const MONGO = {
  duplicateKey: 11000,
  badValue: 2,
  /** BSONObjectTooLarge: a command document over 16 MiB + 16 KiB, or (since 5.x) an update's result over 16 MiB. */
  bsonObjectTooLarge: 10334,
  /** "Resulting document after update is larger than 16777216", as older servers number it. */
  updateResultTooLarge: 17419,
  updateResultTooLargeOld: 17420,
  namespaceExists: 48,
  maxTimeMSExpired: 50,
  writeConflict: 112,
  hostUnreachable: 6,
  hostNotFound: 7,
  networkTimeout: 89,
  shutdownInProgress: 91,
  primarySteppedDown: 189,
  exceededTimeLimit: 262,
  notWritablePrimary: 10107,
  interruptedAtShutdown: 11600,
  interruptedDueToReplStateChange: 11602,
  notPrimaryNoSecondaryOk: 13435,
  notPrimaryOrSecondary: 13436,
} as const;

/** Server codes that mean "not now": the deployment is failing over, shutting down or overloaded. */
const UNAVAILABLE_CODES = new Set<number>([
  MONGO.maxTimeMSExpired,
  MONGO.writeConflict,
  MONGO.hostUnreachable,
  MONGO.hostNotFound,
  MONGO.networkTimeout,
  MONGO.shutdownInProgress,
  MONGO.primarySteppedDown,
  MONGO.exceededTimeLimit,
  MONGO.notWritablePrimary,
  MONGO.interruptedAtShutdown,
  MONGO.interruptedDueToReplStateChange,
  MONGO.notPrimaryNoSecondaryOk,
  MONGO.notPrimaryOrSecondary,
]);

const ENTITY_OF_COLLECTION: Record<string, EntityName> = {
  users: 'user',
  conversations: 'conversation',
  messages: 'message',
  audit: 'audit',
};

/**
 * The unique indexes of the schema (migrations/mongodb/0002-indexes.ts, and `_id_` of every
 * collection), with their keys and the domain field a duplicate is about.
 */
const UNIQUE_INDEXES: Record<string, { keys: readonly string[]; field: string }> = {
  _id_: { keys: ['_id'], field: 'id' },
  users_handle_unique: { keys: ['handle'], field: 'handle' },
  messages_client_message_unique: { keys: ['conversationId', 'clientMessageId'], field: 'clientMessageId' },
};

/** The first write error of a bulk or single write, where the duplicate-key details live. */
function writeErrorOf(error: MongoServerError): { code?: unknown; keyPattern?: unknown; errmsg?: unknown } {
  if (error instanceof MongoBulkWriteError) {
    const first = Array.isArray(error.writeErrors) ? error.writeErrors[0] : error.writeErrors;
    if (first) {
      // Driver v7 builds a bulk WriteError from code, index, errmsg, errInfo and op only: the
      // server's keyPattern is dropped, so the index name in errmsg is normally all there is.
      const keyPattern = (first.err as { keyPattern?: unknown } | undefined)?.keyPattern ?? first.errInfo?.keyPattern;
      return { code: first.code, keyPattern, errmsg: first.errmsg };
    }
  }
  return { code: error.code, keyPattern: error.keyPattern, errmsg: error.errmsg ?? error.message };
}

export function isDuplicateKey(error: unknown): error is MongoServerError {
  return error instanceof MongoServerError && writeErrorOf(error).code === MONGO.duplicateKey;
}

/**
 * The domain field a duplicate-key error is about, from the keyPattern when the error has one,
 * else from the index name in errmsg ("E11000 duplicate key error collection: polystore.users
 * index: users_handle_unique dup key: { handle: \"h\" }"). Undefined for an index the schema
 * does not have.
 */
export function duplicateField(error: MongoServerError): string | undefined {
  const { keyPattern, errmsg } = writeErrorOf(error);
  if (keyPattern !== null && typeof keyPattern === 'object') {
    const keys = Object.keys(keyPattern).join(',');
    return Object.values(UNIQUE_INDEXES).find((index) => index.keys.join(',') === keys)?.field;
  }
  const name = /\bindex: (\S+)/.exec(String(errmsg ?? ''))?.[1];
  return name !== undefined && Object.hasOwn(UNIQUE_INDEXES, name) ? UNIQUE_INDEXES[name]!.field : undefined;
}

/** What of each entity can grow without a domain limit, for the field a TooLargeError names. */
const GROWS: Record<EntityName, string> = {
  user: 'body',
  conversation: 'participants',
  participant: 'participants',
  message: 'content',
  audit: 'diff',
};

/**
 * A write refused because a document would exceed MongoDB's 16 MiB: the server's codes (an
 * insert's BadValue "object to insert too large", an update's 10334 / 17419 / 17420, in a bulk
 * write's first write error too), and the driver's own refusal of a bulk document before sending it.
 */
export function isTooLarge(error: unknown): boolean {
  if (error instanceof MongoInvalidArgumentError)
    return /^Document is larger than the maximum size/.test(error.message);
  if (!(error instanceof MongoServerError)) return false;
  const { code, errmsg } = writeErrorOf(error);
  if (code === MONGO.badValue) return /^object to insert too large/.test(String(errmsg ?? ''));
  return (
    code === MONGO.bsonObjectTooLarge || code === MONGO.updateResultTooLarge || code === MONGO.updateResultTooLargeOld
  );
}

function entityOf(error: MongoServerError, fallback: EntityName): EntityName {
  const collection = /collection: [^.\s]+\.(\S+)/.exec(String(writeErrorOf(error).errmsg ?? ''))?.[1];
  const known = collection !== undefined && Object.hasOwn(ENTITY_OF_COLLECTION, collection);
  return known ? ENTITY_OF_COLLECTION[collection]! : fallback;
}

/**
 * Translates whatever a driver call threw into a domain error; anything unexpected is returned
 * unchanged, for the HTTP layer to report as an internal error. Domain errors pass through. A
 * duplicate on an index the schema does not have is unexpected too: no field is invented for it.
 */
export function mapMongoError(error: unknown, entity: EntityName): unknown {
  if (error instanceof DomainError) return error;
  if (isDuplicateKey(error)) {
    const field = duplicateField(error);
    return field === undefined ? error : new DuplicateError(entityOf(error, entity), field);
  }
  if (isTooLarge(error)) return new TooLargeError(entity, GROWS[entity]);
  if (
    error instanceof MongoServerSelectionError ||
    error instanceof MongoNetworkError ||
    error instanceof MongoNotConnectedError ||
    error instanceof MongoTopologyClosedError ||
    error instanceof MongoClientClosedError ||
    error instanceof MongoServerClosedError
  ) {
    return new UnavailableError(`MongoDB is unavailable (${error.name}: ${error.message.split('\n')[0]})`, 2, error);
  }
  if (error instanceof MongoServerError && typeof error.code === 'number' && UNAVAILABLE_CODES.has(error.code)) {
    return new UnavailableError(`MongoDB cannot serve the request now (${error.codeName ?? error.code})`, 1, error);
  }
  if (
    error instanceof MongoError &&
    (error.hasErrorLabel('RetryableWriteError') || error.hasErrorLabel('TransientTransactionError'))
  ) {
    return new UnavailableError(`MongoDB asked to retry (${error.message.split('\n')[0]})`, 1, error);
  }
  return error;
}
