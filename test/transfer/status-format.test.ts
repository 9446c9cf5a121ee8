import { describe, expect, it } from 'vitest';
import { messageJson } from '../../src/domain/encoding.js';
import { decodeRecord, encodeRecord } from '../../src/transfer/codec.js';
import { newMessage } from '../contract/fixtures.js';

/** Message statuses in the export format: carried exactly; records written before they existed read as completed. */
describe('export records of messages and their status', () => {
  const message = newMessage('0190a000-0000-7000-8000-000000000001', 'user|a', {
    status: 'incomplete',
    statusReason: 'interrupted',
  });

  it('carries status and statusReason both ways', () => {
    const encoded = JSON.parse(JSON.stringify(messageJson(message)));
    expect(encoded).toMatchObject({ status: 'incomplete', statusReason: 'interrupted' });
    expect(decodeRecord('messages', encoded)).toEqual(message);
    expect(encodeRecord('messages', decodeRecord('messages', encoded))).toEqual(encodeRecord('messages', message));
  });

  it('reads a record of an older export (no status fields) as a completed message', () => {
    const { status: _status, statusReason: _reason, ...older } = JSON.parse(JSON.stringify(messageJson(message)));
    expect(decodeRecord('messages', older)).toEqual({ ...message, status: 'completed', statusReason: null });
  });

  it('refuses an unknown status, and a reason on a message that is not incomplete, naming the field', () => {
    const encoded = JSON.parse(JSON.stringify(messageJson(message)));
    expect(() => decodeRecord('messages', { ...encoded, status: 'done' })).toThrow(/messages\.status/);
    expect(() => decodeRecord('messages', { ...encoded, status: 'completed' })).toThrow(/messages\.statusReason/);
  });
});
