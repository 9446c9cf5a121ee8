import { BSON, type Document } from 'mongodb';
import { TooLargeError, type EntityName } from '../../src/domain/errors.js';

/** The largest document MongoDB stores (maxBsonObjectSize). */
export const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;

/**
 * Refuses a document (or an update) that alone is larger than MongoDB stores, before sending it:
 * beyond about 17 MiB the driver's serializer cannot even build the command, and fails with a
 * RangeError that says nothing of size. The server refuses the rest (map-mongodb-error.ts).
 * MESSAGE_MAX_BYTES keeps messages far below this; it guards what the domain does not bound.
 */
export function checkDocumentSize(entity: EntityName, field: string, value: Document): void {
  if (BSON.calculateObjectSize(value) > MAX_DOCUMENT_BYTES) throw new TooLargeError(entity, field);
}
