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
  participantsPerCreate: 100,
  pageDefault: 50,
  pageMax: 200,
} as const;

export const HANDLE_PATTERN = /^[a-z0-9_][a-z0-9_.-]{0,63}$/;
export const METADATA_KEY_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}$/;
export const CLIENT_MESSAGE_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
