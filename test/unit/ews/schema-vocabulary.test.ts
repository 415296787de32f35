import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { NOTIFICATION_EVENT_TYPES } from '../../../functions/ews/notification.ts';
import { DISTINGUISHED_FOLDER_NAMES, EXCHANGE_VERSIONS } from '../../../functions/ews/request.ts';
import { RESPONSE_CODES } from '../../../functions/ews/response-codes.ts';
import { SUBSCRIBABLE_EVENT_TYPES } from '../../../functions/ews/subscribe.ts';
import { ewsSchema, itWithSchema } from '../../support/ews-schema.ts';

/** The values of a named xs:simpleType enumeration in one of the schema files. */
function enumeration(file: string, typeName: string): string[] {
  if (!ewsSchema.available) throw new Error(ewsSchema.reason);
  const xsd = readFileSync(join(ewsSchema.dir, file), 'utf8');
  const start = xsd.indexOf(`<xs:simpleType name="${typeName}"`);
  if (start < 0) throw new Error(`${typeName} not found in ${file}`);
  const block = xsd.slice(start, xsd.indexOf('</xs:simpleType>', start));
  return [...block.matchAll(/<xs:enumeration value="([^"]+)"/g)].map((m) => m[1] ?? '');
}

// The protocol module carries the schema's vocabularies as typed constants; these tests keep them
// identical to the official schema so a typo can never reach Exchange.
itWithSchema('ResponseCode values match m:ResponseCodeType', () => {
  expect([...RESPONSE_CODES]).toEqual(enumeration('messages.xsd', 'ResponseCodeType'));
});

itWithSchema('distinguished folder names match t:DistinguishedFolderIdNameType', () => {
  expect([...DISTINGUISHED_FOLDER_NAMES]).toEqual(enumeration('types.xsd', 'DistinguishedFolderIdNameType'));
});

itWithSchema('Exchange versions match t:ExchangeVersionType', () => {
  expect([...EXCHANGE_VERSIONS]).toEqual(enumeration('types.xsd', 'ExchangeVersionType'));
});

itWithSchema(
  'subscribable event types match t:NotificationEventTypeType, and notifications add StatusEvent',
  () => {
    const schema = enumeration('types.xsd', 'NotificationEventTypeType');
    expect([...SUBSCRIBABLE_EVENT_TYPES]).toEqual(schema);
    expect([...NOTIFICATION_EVENT_TYPES].sort()).toEqual([...schema, 'StatusEvent'].sort());
  },
);
