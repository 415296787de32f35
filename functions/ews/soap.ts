/**
 * SOAP envelopes around EWS messages: writing the ones we send, and opening the ones we receive
 * (either SOAP version, any prefix), including SOAP Faults.
 */
import { err, ok, type Result } from '../core/result.ts';
import { showValue } from '../core/show.ts';
import {
  type EwsError,
  type EwsOperation,
  EwsProtocolError,
  EwsResponseError,
  EwsSoapFaultError,
} from './errors.ts';
import { NS, parseXml, qualifiedName, type XmlElement, type XmlLimits, type XmlProblem } from './xml.ts';

export type SoapVersion = '1.1' | '1.2';

const ENVELOPE_NS: Record<SoapVersion, string> = { '1.1': NS.soap11, '1.2': NS.soap12 };

/** The Content-Type a SOAP message of that version travels with. */
export function soapContentType(version: SoapVersion): string {
  return version === '1.1' ? 'text/xml; charset=utf-8' : 'application/soap+xml; charset=utf-8';
}

/**
 * Wraps a body (and optional header content) in an envelope that declares the `m:` and `t:`
 * prefixes once, so the fragments inside can use them.
 */
export function writeEnvelope(
  body: string,
  options: { header?: string; soapVersion?: SoapVersion } = {},
): string {
  const ns = ENVELOPE_NS[options.soapVersion ?? '1.1'];
  const header = options.header ? `<soap:Header>${options.header}</soap:Header>` : '';
  return (
    '<?xml version="1.0" encoding="utf-8"?>' +
    `<soap:Envelope xmlns:soap="${ns}" xmlns:m="${NS.messages}" xmlns:t="${NS.types}">` +
    `${header}<soap:Body>${body}</soap:Body></soap:Envelope>`
  );
}

export interface OpenedEnvelope {
  readonly soapVersion: SoapVersion;
  /** The Envelope element itself. */
  readonly root: XmlElement;
  readonly header: XmlElement | undefined;
  /** The first element child of Body: the message itself. */
  readonly payload: XmlElement;
}

export type EnvelopeProblem = XmlProblem | { readonly reason: 'NotSoapEnvelope'; readonly message: string };

/** Parses a document and finds its SOAP Body payload. */
export function openEnvelope(
  input: string | Uint8Array,
  limits: XmlLimits,
): Result<OpenedEnvelope, EnvelopeProblem> {
  const parsed = parseXml(input, limits);
  if (!parsed.ok) return parsed;
  const root = parsed.value;
  const soapVersion = root.ns === NS.soap11 ? '1.1' : root.ns === NS.soap12 ? '1.2' : undefined;
  if (root.name !== 'Envelope' || soapVersion === undefined) {
    return err({
      reason: 'NotSoapEnvelope',
      message: `root element is ${showValue(qualifiedName(root))}, expected a SOAP 1.1 or 1.2 Envelope`,
    });
  }
  const header = root.children.find((c) => c.ns === root.ns && c.name === 'Header');
  const body = root.children.find((c) => c.ns === root.ns && c.name === 'Body');
  if (body === undefined) return err({ reason: 'NotSoapEnvelope', message: 'SOAP Envelope has no Body' });
  const payload = body.children[0];
  if (payload === undefined) return err({ reason: 'NotSoapEnvelope', message: 'SOAP Body is empty' });
  return ok({ soapVersion, root, header, payload });
}

/** Largest EWS response accepted (SyncFolderItems pages of 512 changes stay far below it). */
export const RESPONSE_LIMITS: XmlLimits = { maxBytes: 16 * 1024 * 1024, maxDepth: 64 };

/**
 * Opens an EWS response and returns its `m:{operation}Response` element, or the error the
 * response stands for: a SOAP Fault (with its EWS response code when it has one) or a document
 * that is not an EWS response at all.
 */
export function openResponse(
  operation: EwsOperation,
  input: string | Uint8Array,
): Result<XmlElement, EwsError> {
  const opened = openEnvelope(input, RESPONSE_LIMITS);
  if (!opened.ok) return err(new EwsProtocolError(operation, opened.error.message));
  const { payload } = opened.value;
  if (payload.name === 'Fault' && (payload.ns === NS.soap11 || payload.ns === NS.soap12)) {
    return err(faultError(operation, payload));
  }
  const expected = `${operation}Response`;
  if (payload.ns !== NS.messages || payload.name !== expected) {
    return err(
      new EwsProtocolError(
        operation,
        `SOAP Body holds ${showValue(qualifiedName(payload))}, expected {${NS.messages}}${expected}`,
      ),
    );
  }
  return ok(payload);
}

/**
 * Turns a SOAP Fault into an error. Exchange puts its code in `faultcode` (e.g. `a:ErrorServerBusy`)
 * and again in `detail/e:ResponseCode`, with `BackOffMilliseconds` in `detail/t:MessageXml`.
 */
function faultError(operation: EwsOperation, fault: XmlElement): EwsError {
  const isSoap11 = fault.ns === NS.soap11;
  // SOAP 1.1 fault children are unqualified; SOAP 1.2 ones are in the envelope namespace.
  const child = (name: string) => fault.children.find((c) => c.name === name);
  const faultCodeText = isSoap11
    ? (child('faultcode')?.text ?? '')
    : (child('Code')?.children[0]?.text ?? '');
  const faultString = isSoap11
    ? (child('faultstring')?.text ?? '')
    : (child('Reason')?.children.find((c) => c.name === 'Text')?.text ?? '');
  const detail = child(isSoap11 ? 'detail' : 'Detail');
  const detailCode = detail === undefined ? undefined : findDescendant(detail, 'ResponseCode')?.text;
  const localFaultCode = faultCodeText.slice(faultCodeText.indexOf(':') + 1);
  const responseCode = detailCode || (localFaultCode.startsWith('Error') ? localFaultCode : undefined);
  if (responseCode === undefined) return new EwsSoapFaultError(operation, faultCodeText, faultString);
  const messageXml = detail === undefined ? undefined : findDescendant(detail, 'MessageXml');
  const detailMessage = detail === undefined ? undefined : findDescendant(detail, 'Message')?.text;
  // ErrorSchemaValidation's e:Message is only "The request failed schema validation."; the
  // faultstring goes on with what the violation was, so the fuller text is the one worth showing.
  const fuller =
    detailMessage && faultString.startsWith(detailMessage.replace(/\.$/, '')) ? faultString : detailMessage;
  return new EwsResponseError({
    operation,
    responseCode,
    messageText: fuller || faultString || null,
    messageXml: messageXmlValues(messageXml),
    via: 'soapFault',
  });
}

function findDescendant(element: XmlElement, name: string): XmlElement | undefined {
  for (const c of element.children) {
    if (c.name === name) return c;
    const deeper = findDescendant(c, name);
    if (deeper) return deeper;
  }
  return undefined;
}

/** `t:Value Name="…"` entries of a MessageXml element (any namespace: real pushes vary). */
export function messageXmlValues(messageXml: XmlElement | undefined): ReadonlyMap<string, string> {
  const values = new Map<string, string>();
  if (messageXml === undefined) return values;
  for (const value of messageXml.children) {
    const name = value.attributes.get('Name');
    if (value.name === 'Value' && name !== undefined && !values.has(name)) values.set(name, value.text);
  }
  return values;
}

/** The common head of every EWS response message: ResponseClass, ResponseCode, MessageText, MessageXml. */
export interface ResponseMessageHead {
  readonly responseClass: 'Success' | 'Warning' | 'Error';
  readonly responseCode: string | null;
  readonly messageText: string | null;
  readonly messageXml: ReadonlyMap<string, string>;
}

export function readResponseMessageHead(message: XmlElement): Result<ResponseMessageHead, string> {
  const responseClass = message.attributes.get('ResponseClass');
  if (responseClass !== 'Success' && responseClass !== 'Warning' && responseClass !== 'Error') {
    return err(
      responseClass === undefined
        ? `${message.name} has no ResponseClass attribute`
        : `${message.name} has ResponseClass ${showValue(responseClass)}, expected Success, Warning or Error`,
    );
  }
  let responseCode: string | null = null;
  let messageText: string | null = null;
  let messageXml: XmlElement | undefined;
  for (const c of message.children) {
    if (c.ns !== NS.messages) continue;
    if (c.name === 'ResponseCode') responseCode = c.text;
    else if (c.name === 'MessageText') messageText = c.text;
    else if (c.name === 'MessageXml') messageXml = c;
  }
  return ok({ responseClass, responseCode, messageText, messageXml: messageXmlValues(messageXml) });
}

/**
 * The response messages of an operation response (`m:ResponseMessages/m:{operation}ResponseMessage`),
 * or why there are none.
 */
export function responseMessages(
  operation: EwsOperation,
  response: XmlElement,
): Result<XmlElement[], EwsProtocolError> {
  const container = response.children.find((c) => c.ns === NS.messages && c.name === 'ResponseMessages');
  const messageName = `${operation}ResponseMessage`;
  const messages = container?.children.filter((c) => c.ns === NS.messages && c.name === messageName) ?? [];
  if (messages.length === 0) {
    return err(new EwsProtocolError(operation, `${operation}Response holds no m:${messageName}`));
  }
  return ok(messages);
}

/**
 * The error a response message stands for, or null when it succeeded. A Warning with a code other
 * than NoError means the operation was not carried out (e.g. ErrorBatchProcessingStopped), so it
 * counts as an error too.
 */
export function responseMessageError(
  operation: EwsOperation,
  head: ResponseMessageHead,
): EwsResponseError | EwsProtocolError | null {
  if (head.responseCode === null || head.responseCode === 'NoError') {
    return head.responseClass === 'Error'
      ? new EwsProtocolError(operation, 'a response message has ResponseClass Error but no ResponseCode')
      : null;
  }
  return new EwsResponseError({
    operation,
    responseCode: head.responseCode,
    messageText: head.messageText,
    messageXml: head.messageXml,
    via: 'responseMessage',
  });
}

/**
 * The one successful response message of a single-item operation (Subscribe, SyncFolderItems):
 * opens the envelope, expects exactly one `m:{operation}ResponseMessage`, and turns a failed one
 * into its typed error.
 */
export function singleSuccessfulMessage(
  operation: EwsOperation,
  body: string | Uint8Array,
): Result<XmlElement, EwsError> {
  const response = openResponse(operation, body);
  if (!response.ok) return response;
  const messages = responseMessages(operation, response.value);
  if (!messages.ok) return messages;
  const [message] = messages.value;
  if (message === undefined || messages.value.length !== 1) {
    return err(
      new EwsProtocolError(
        operation,
        `expected one ${operation}ResponseMessage, got ${messages.value.length}`,
      ),
    );
  }
  const head = readResponseMessageHead(message);
  if (!head.ok) return err(new EwsProtocolError(operation, head.error));
  const failure = responseMessageError(operation, head.value);
  return failure ? err(failure) : ok(message);
}
