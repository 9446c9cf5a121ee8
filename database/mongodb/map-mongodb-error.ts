import {
  MongoBulkWriteError,
  MongoClientClosedError,
  MongoError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerClosedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
} from 'mongodb';
import { DomainError, DuplicateError, UnavailableError, type EntityName } from '../../src/domain/errors.js';

/**
 * MongoDB server error codes the adapter gives a meaning to.
 * @see https://github.com/mongodb/mongo/blob/master/src/mongo/base/error_codes.yml
 */
export const MONGO = {
  duplicateKey: 11000,
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

const ENTITY_OF_COLLECTION: Record<string, EntityName> = { users: 'user', conversations: 'conversation', messages: 'message', audit: 'audit' };

/** The unique key a duplicate-key error names, as the domain calls that field. */
function fieldOfKeyPattern(keyPattern: unknown): string {
  const fields = keyPattern !== null && typeof keyPattern === 'object' ? Object.keys(keyPattern) : [];
  if (fields.includes('clientMessageId')) return 'clientMessageId';
  if (fields.includes('handle')) return 'handle';
  return 'id';
}

/** The first write error of a bulk or single write, where the duplicate-key details live. */
function writeErrorOf(error: MongoServerError): { code?: unknown; keyPattern?: unknown; errmsg?: unknown } {
  if (error instanceof MongoBulkWriteError) {
    const first = error.writeErrors instanceof Array ? error.writeErrors[0] : error.writeErrors;
    if (first) return { code: first.code, keyPattern: (first.err as { keyPattern?: unknown } | undefined)?.keyPattern ?? first.errInfo?.keyPattern, errmsg: first.errmsg };
  }
  return { code: error.code, keyPattern: error.keyPattern, errmsg: error.errmsg ?? error.message };
}

export function isDuplicateKey(error: unknown): error is MongoServerError {
  return error instanceof MongoServerError && writeErrorOf(error).code === MONGO.duplicateKey;
}

/** The unique key (domain field name) a duplicate-key error is about. */
export function duplicateField(error: MongoServerError): string {
  const { keyPattern, errmsg } = writeErrorOf(error);
  if (keyPattern !== undefined) return fieldOfKeyPattern(keyPattern);
  // Older servers give only the message: "... index: handle_unique dup key: ...".
  const index = /index: (\S+)/.exec(String(errmsg ?? ''))?.[1] ?? '';
  return index.includes('client') ? 'clientMessageId' : index.includes('handle') ? 'handle' : 'id';
}

function entityOf(error: MongoServerError, fallback: EntityName): EntityName {
  const collection = /collection: [^.\s]+\.(\S+)/.exec(String(writeErrorOf(error).errmsg ?? ''))?.[1];
  return (collection !== undefined ? ENTITY_OF_COLLECTION[collection] : undefined) ?? fallback;
}

/**
 * Translates whatever a driver call threw into a domain error; anything unexpected is returned
 * unchanged, for the HTTP layer to report as an internal error. Domain errors pass through.
 */
export function mapMongoError(error: unknown, entity: EntityName): unknown {
  if (error instanceof DomainError) return error;
  if (isDuplicateKey(error)) return new DuplicateError(entityOf(error, entity), duplicateField(error));
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
  if (error instanceof MongoError && (error.hasErrorLabel('RetryableWriteError') || error.hasErrorLabel('TransientTransactionError'))) {
    return new UnavailableError(`MongoDB asked to retry (${error.message.split('\n')[0]})`, 1, error);
  }
  return error;
}
