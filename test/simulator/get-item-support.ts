/**
 * Helpers for GetItem tests: a GetItem request written as any client writes it (any FieldURI, any
 * id element, BodyType) and its response messages read with the project's XML parser.
 */
import { writeHeader } from '../../functions/ews/request.ts';
import { RESPONSE_LIMITS, writeEnvelope } from '../../functions/ews/soap.ts';
import { NS, parseXml, type XmlElement } from '../../functions/ews/xml.ts';
import { as } from './support.ts';

export interface Shape {
  readonly baseShape: 'IdOnly' | 'Default' | 'AllProperties';
  readonly additional?: readonly string[];
  readonly bodyType?: 'Best' | 'HTML' | 'Text';
}

/** A GetItem request as any client writes it: ItemShape, then ItemIds (t:ItemId, t:OccurrenceItemId, …). */
export function getItemRequest(shape: Shape, ids: readonly string[], mailbox: string): string {
  const bodyType = shape.bodyType === undefined ? '' : `<t:BodyType>${shape.bodyType}</t:BodyType>`;
  const additional =
    shape.additional === undefined
      ? ''
      : `<t:AdditionalProperties>${shape.additional.map((f) => `<t:FieldURI FieldURI="${f}"/>`).join('')}</t:AdditionalProperties>`;
  return writeEnvelope(
    `<m:GetItem><m:ItemShape><t:BaseShape>${shape.baseShape}</t:BaseShape>${bodyType}${additional}</m:ItemShape>` +
      `<m:ItemIds>${ids.join('')}</m:ItemIds></m:GetItem>`,
    { header: writeHeader(as(mailbox)) },
  );
}
export const itemId = (id: string) => `<t:ItemId Id="${id}"/>`;

export interface Answer {
  readonly code: string;
  readonly item: XmlElement | undefined;
  readonly message: XmlElement;
}

/** Each response message of a GetItem response: its code and its item element, if any. */
export function answers(body: string): Answer[] {
  const root = parseXml(body, RESPONSE_LIMITS);
  if (!root.ok) throw new Error(`the response is not XML: ${root.error.message}`);
  const named = (e: XmlElement | undefined, name: string) => e?.children.find((c) => c.name === name);
  const messages = named(named(named(root.value, 'Body'), 'GetItemResponse'), 'ResponseMessages');
  return (messages?.children ?? []).map((message) => ({
    code: named(message, 'ResponseCode')?.text ?? '',
    item: named(message, 'Items')?.children[0],
    message,
  }));
}
export const names = (e: XmlElement | undefined): string[] => (e?.children ?? []).map((c) => c.name);
export const child = (e: XmlElement | undefined, name: string): XmlElement | undefined =>
  e?.children.find((c) => c.ns === NS.types && c.name === name);
