import { deserialize, Long, serialize } from 'bson';
import { DESERIALIZE, type Doc } from './values.js';

/**
 * MongoDB wire protocol framing: OP_MSG (2013) with its body and document-sequence sections, and
 * the legacy OP_QUERY (2004) that drivers still use for the first hello of a connection, answered
 * with OP_REPLY (1). OP_COMPRESSED is never needed: the emulator advertises no compressors.
 * @see https://www.mongodb.com/docs/manual/reference/mongodb-wire-protocol/
 */

export const OP_REPLY = 1;
export const OP_QUERY = 2004;
export const OP_MSG = 2013;

const HEADER_BYTES = 16;
const MSG_CHECKSUM_PRESENT = 1 << 0;
const MSG_MORE_TO_COME = 1 << 1;

/** Largest message the emulator accepts (hello advertises the same). */
export const MAX_MESSAGE_BYTES = 48_000_000;

export interface Request {
  requestId: number;
  opCode: number;
  /** The command document; OP_MSG document sequences are merged into it by identifier. */
  command: Doc;
  /** The database the command runs in (`$db`, or the namespace of an OP_QUERY). */
  db: string;
  /** OP_MSG moreToCome: the client expects no reply. */
  noReply: boolean;
  /** Identifiers of the OP_MSG document sequences (kind 1 sections) merged into `command`. */
  sequences: string[];
  /** Size of the first document over the server's BSON object limit, if any (the command then fails). */
  oversized?: number;
}

/**
 * A server refuses any document of a message — the command body or one of a sequence — larger
 * than maxBsonObjectSize plus 16 KiB of command overhead (BSONObjectTooLarge).
 */
export const MAX_WIRE_DOCUMENT_BYTES = 16 * 1024 * 1024 + 16 * 1024;

export class ProtocolError extends Error {}

/** Length of the complete message at the front of `buffer`, or undefined while it is incomplete. */
export function frameLength(buffer: Buffer): number | undefined {
  if (buffer.length < 4) return undefined;
  const length = buffer.readInt32LE(0);
  if (length < HEADER_BYTES || length > MAX_MESSAGE_BYTES) throw new ProtocolError(`invalid message length ${length}`);
  return buffer.length >= length ? length : undefined;
}

function readCString(buffer: Buffer, offset: number): [string, number] {
  const end = buffer.indexOf(0, offset);
  if (end < 0) throw new ProtocolError('unterminated C string');
  return [buffer.toString('utf8', offset, end), end + 1];
}

function readDocument(buffer: Buffer, offset: number): [Doc, number] {
  const size = buffer.readInt32LE(offset);
  if (size < 5 || offset + size > buffer.length) throw new ProtocolError('document overruns the message');
  return [deserialize(buffer.subarray(offset, offset + size), DESERIALIZE), offset + size];
}

/** Parses one complete message (as framed by frameLength). */
export function parseRequest(message: Buffer): Request {
  const requestId = message.readInt32LE(4);
  const opCode = message.readInt32LE(12);
  if (opCode === OP_MSG) {
    const flags = message.readUInt32LE(HEADER_BYTES);
    const end = message.length - (flags & MSG_CHECKSUM_PRESENT ? 4 : 0);
    let offset = HEADER_BYTES + 4;
    let body: Doc | undefined;
    let oversized: number | undefined;
    const noteSize = (start: number) => {
      const size = message.readInt32LE(start);
      if (oversized === undefined && size > MAX_WIRE_DOCUMENT_BYTES) oversized = size;
    };
    const sequences: [string, Doc[]][] = [];
    while (offset < end) {
      const kind = message.readUInt8(offset);
      offset += 1;
      if (kind === 0) {
        noteSize(offset);
        [body, offset] = readDocument(message, offset);
      } else if (kind === 1) {
        const sectionEnd = offset + message.readInt32LE(offset);
        let identifier: string;
        [identifier, offset] = readCString(message, offset + 4);
        const docs: Doc[] = [];
        while (offset < sectionEnd) {
          let doc: Doc;
          noteSize(offset);
          [doc, offset] = readDocument(message, offset);
          docs.push(doc);
        }
        sequences.push([identifier, docs]);
      } else throw new ProtocolError(`unknown OP_MSG section kind ${kind}`);
    }
    if (!body) throw new ProtocolError('OP_MSG without a body section');
    for (const [identifier, docs] of sequences) body[identifier] = docs;
    const db = body.$db;
    if (typeof db !== 'string') throw new ProtocolError('OP_MSG command without $db');
    return {
      requestId,
      opCode,
      command: body,
      db,
      noReply: (flags & MSG_MORE_TO_COME) !== 0,
      sequences: sequences.map(([identifier]) => identifier),
      ...(oversized === undefined ? {} : { oversized }),
    };
  }
  if (opCode === OP_QUERY) {
    const [collection, afterName] = readCString(message, HEADER_BYTES + 4);
    // numberToSkip and numberToReturn (4 bytes each) come before the query document.
    const [query] = readDocument(message, afterName + 8);
    // Legacy wrapping: { $query: { hello: 1 }, $readPreference: ... }.
    const command = typeof query.$query === 'object' && query.$query !== null ? (query.$query as Doc) : query;
    return { requestId, opCode, command, db: collection.split('.')[0] ?? 'admin', noReply: false, sequences: [] };
  }
  throw new ProtocolError(`unsupported opCode ${opCode}`);
}

let nextResponseId = 1;

function header(length: number, responseTo: number, opCode: number): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  h.writeInt32LE(length, 0);
  h.writeInt32LE(nextResponseId++ & 0x7fffffff, 4);
  h.writeInt32LE(responseTo, 8);
  h.writeInt32LE(opCode, 12);
  return h;
}

/** The reply to `request` in the opcode it expects: OP_REPLY for OP_QUERY, else OP_MSG. */
export function encodeReply(request: Request, reply: Doc): Buffer {
  const body = Buffer.from(serialize(reply, { ignoreUndefined: true }));
  if (request.opCode === OP_QUERY) {
    const fields = Buffer.alloc(20);
    fields.writeInt32LE(0, 0); // responseFlags
    Buffer.from(Long.ZERO.toBytesLE()).copy(fields, 4); // cursorID
    fields.writeInt32LE(0, 12); // startingFrom
    fields.writeInt32LE(1, 16); // numberReturned
    return Buffer.concat([
      header(HEADER_BYTES + fields.length + body.length, request.requestId, OP_REPLY),
      fields,
      body,
    ]);
  }
  const flagsAndKind = Buffer.alloc(5); // flagBits 0, section kind 0
  return Buffer.concat([
    header(HEADER_BYTES + flagsAndKind.length + body.length, request.requestId, OP_MSG),
    flagsAndKind,
    body,
  ]);
}
