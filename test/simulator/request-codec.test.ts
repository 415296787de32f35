/**
 * The simulator's reading of EWS requests, without HTTP: where a schema violation is (the
 * LineNumber and LinePosition Exchange's fault carries), and the request shapes real clients send
 * that the schema does not describe the way they write them (m:Watermark).
 */
import { describe, expect, it } from 'vitest';
import { NS } from '../../functions/ews/xml.ts';
import {
  decodeEwsRequest,
  type RequestRefusal,
  schemaValidationFault,
} from '../../simulator/soap-server-codec.ts';
import { failure, value } from './support.ts';

const envelope = (header: string, body: string) =>
  [
    '<?xml version="1.0" encoding="utf-8"?>',
    `<s:Envelope xmlns:s="${NS.soap11}" xmlns:m="${NS.messages}" xmlns:t="${NS.types}">`,
    `  <s:Header>${header}</s:Header>`,
    '  <s:Body>',
    body,
    '  </s:Body>',
    '</s:Envelope>',
  ].join('\n');

function refusal(text: string): Extract<RequestRefusal, { kind: 'SchemaValidation' }> {
  const refused = failure(decodeEwsRequest(text));
  if (refused.kind !== 'SchemaValidation') throw new Error(`not a schema violation: ${refused.violation}`);
  return refused;
}

describe('schema violations say where they are, as Exchange does (LineNumber, LinePosition)', () => {
  it('points at the attribute whose value is wrong', () => {
    const text = envelope('<t:RequestServerVersion Version="V2018_01_08"/>', '<m:GetFolder/>');
    const { line, position, violation } = refusal(text);
    expect(violation).toMatch(/'Version' attribute is invalid - The value 'V2018_01_08'/);
    expect(line).toBe(3);
    expect(position).toBe('  <s:Header><t:RequestServerVersion '.length + 1);
  });

  /** A GetFolder request holding `inner` on one line of its own (line 6 of the request). */
  const getFolder = (inner: string) =>
    refusal(envelope('', `    <m:GetFolder>\n${inner}\n    </m:GetFolder>`));

  it('points at the child element that does not belong', () => {
    const { line, position, violation } = getFolder(
      '      <m:FolderIds><t:DistinguishedFolderId Id="inbox"/></m:FolderIds>',
    );
    expect(violation).toMatch(/invalid child element 'FolderIds'.*expected: 'FolderShape'/);
    expect([line, position]).toEqual([6, '      <'.length + 1]);
  });

  it('points at the end tag of content that stopped too soon', () => {
    const { line, position, violation } = getFolder(
      '      <m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape>',
    );
    expect(violation).toMatch(/'GetFolder' .* has incomplete content/);
    expect([line, position]).toEqual([7, '    </'.length + 1]);
  });

  it('takes the position from the parser when the request is not well-formed', () => {
    const { line, position } = refusal(envelope('', '    <m:GetFolder>\n  </m:Nope>'));
    expect(line).toBeGreaterThan(1);
    expect(position).toBeGreaterThan(0);
  });

  it('writes LineNumber, LinePosition and Violation into the fault, in that order', () => {
    const fault = schemaValidationFault({ kind: 'SchemaValidation', violation: 'V', line: 4, position: 9 });
    expect(fault).toContain(
      '<t:LineNumber>4</t:LineNumber><t:LinePosition>9</t:LinePosition><t:Violation>V</t:Violation>',
    );
    expect(fault).toContain('The request failed schema validation: V</faultstring>');
  });
});

describe('a Subscribe carrying its watermark as m:Watermark', () => {
  const subscribe = (watermark: string) =>
    envelope(
      '',
      `<m:Subscribe><m:PushSubscriptionRequest><t:FolderIds><t:DistinguishedFolderId Id="inbox"/></t:FolderIds><t:EventTypes><t:EventType>CreatedEvent</t:EventType></t:EventTypes>${watermark}<t:StatusFrequency>1</t:StatusFrequency><t:URL>https://example.test/cb</t:URL></m:PushSubscriptionRequest></m:Subscribe>`,
    );

  it('is accepted, its watermark kept apart from the t:Watermark Exchange reads', () => {
    const decoded = value(decodeEwsRequest(subscribe('<m:Watermark>AAAA</m:Watermark>'))).request;
    if (decoded.operation !== 'Subscribe' || decoded.push === null) throw new Error('not a push Subscribe');
    expect(decoded.push.watermark).toBeNull();
    expect(decoded.push.unreadWatermark).toBe('AAAA');
    const typed = value(decodeEwsRequest(subscribe('<t:Watermark>BBBB</t:Watermark>'))).request;
    if (typed.operation !== 'Subscribe' || typed.push === null) throw new Error('not a push Subscribe');
    expect(typed.push.watermark).toBe('BBBB');
  });

  it('is still refused where the schema has no Watermark at all', () => {
    const late = subscribe('').replace('</t:URL>', '</t:URL><m:Watermark>AAAA</m:Watermark>');
    expect(refusal(late).violation).toMatch(/invalid child element 'Watermark'/);
  });
});
