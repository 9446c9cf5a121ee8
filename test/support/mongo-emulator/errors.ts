/**
 * Server error codes the emulator answers with, named as MongoDB names them so the driver builds
 * the same error classes (MongoServerError with `code` and `codeName`) it would from a server.
 * @see https://github.com/mongodb/mongo/blob/master/src/mongo/base/error_codes.yml
 */
export const CODES = {
  InternalError: 1,
  BadValue: 2,
  FailedToParse: 9,
  TypeMismatch: 14,
  IllegalOperation: 20,
  NamespaceNotFound: 26,
  IndexNotFound: 27,
  ConflictingUpdateOperators: 40,
  CursorNotFound: 43,
  MaxTimeMSExpired: 50,
  NamespaceExists: 48,
  CommandNotFound: 59,
  ImmutableField: 66,
  CannotCreateIndex: 67,
  InvalidOptions: 72,
  InvalidNamespace: 73,
  IndexOptionsConflict: 85,
  IndexKeySpecsConflict: 86,
  WriteConflict: 112,
  DocumentValidationFailure: 121,
  QueryFeatureNotAllowed: 224,
  OperationNotSupportedInTransaction: 263,
  BSONObjectTooLarge: 10334,
  IDLUnknownField: 40415,
  NoSuchTransaction: 251,
  TransactionTooOld: 225,
  DuplicateKey: 11000,
} as const;

export type CodeName = keyof typeof CODES;

/** A command failure, sent back as `{ ok: 0, errmsg, code, codeName, ...extra }`. */
export class CommandError extends Error {
  readonly code: number;
  constructor(
    readonly codeName: CodeName,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly errorLabels: string[] = [],
  ) {
    super(message);
    this.code = CODES[codeName];
  }

  /** The error as a command reply document. */
  toReply(): Record<string, unknown> {
    return {
      ok: 0,
      errmsg: this.message,
      code: this.code,
      codeName: this.codeName,
      ...this.extra,
      ...(this.errorLabels.length > 0 ? { errorLabels: this.errorLabels } : {}),
    };
  }

  /** The error as an entry of a write command's `writeErrors`. */
  toWriteError(index: number): Record<string, unknown> {
    return { index, code: this.code, codeName: this.codeName, errmsg: this.message, ...this.extra };
  }
}

export const badValue = (message: string) => new CommandError('BadValue', message);
export const typeMismatch = (message: string) => new CommandError('TypeMismatch', message);
export const failedToParse = (message: string) => new CommandError('FailedToParse', message);
