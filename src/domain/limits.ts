/** Limits of the domain, shared by validation, HTTP schemas and documentation. */
export const LIMITS = {
  userIdMax: 128,
  handleMax: 64,
  displayNameMax: 128,
  titleMax: 256,
  metadataKeys: 16,
  metadataKeyMax: 64,
  metadataValueMax: 512,
  contentPartsMax: 64,
  textMax: 65_536,
  identifierMax: 128,
  mimeTypeMax: 255,
  urlMax: 2048,
  fileNameMax: 255,
  clientMessageIdMax: 128,
  /** A status reason is a short token: `interrupted`, `max_tokens`, `error`… */
  statusReasonMax: 32,
  /** Characters (UTF-16 units, as textMax) one append to a streamed message carries. */
  appendTextMax: 16_384,
  participantsPerCreate: 100,
  /** Messages one postMany takes (OpenAI's Conversations API adds at most 20 items at a time). */
  messagesPerBatch: 20,
  pageDefault: 50,
  pageMax: 200,
  /** Every integer field of the API: SQL columns are INT. */
  integerMax: 2_147_483_647,
  /**
   * Levels of arrays and objects in a JSON field (tool arguments and outputs): `{}` is one level,
   * `{"a":[1]}` two. Stored, a part adds two levels and the audit diff of an edit one more; 16
   * keeps every backend far from its own limit (MariaDB's JSON check gives up near 32).
   */
  jsonDepthMax: 16,
  /** How deep the HTTP layer looks for unstorable strings in a body: deeper than anything the domain accepts. */
  bodyScanDepthMax: 64,
  /** Latest instant a cursor may name: 9999-12-31T23:59:59.999Z, the end of SQL DATETIME. */
  cursorTimeMax: 253_402_300_799_999,
} as const;

export const HANDLE_PATTERN = /^[a-z0-9_][a-z0-9_.-]{0,63}$/;
export const METADATA_KEY_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}$/;
export const STATUS_REASON_PATTERN = /^[a-z][a-z0-9_]{0,31}$/;
export const CLIENT_MESSAGE_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
