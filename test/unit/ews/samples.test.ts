/**
 * Every real EWS message in ../shared/ews-samples that the bridge (or the simulator, for
 * callback replies) should read is read by our decoders: pushes, the answers to the operations the
 * bridge calls, SOAP faults, and the Notification content of pull and streaming answers (the same
 * t:NotificationType a push carries). Ids and watermarks must come through exactly as sent, and
 * error answers must become the typed error with the right advice and retry verdict.
 *
 * Documentation fragments (a Body, a payload or one response message without its envelope) are
 * put into the envelope Exchange sends them in; a sample whose manifest declares repairs is read
 * after them, and as stored it must at least be refused cleanly rather than misread.
 */
import { expect, it } from 'vitest';
import { isRetryable } from '../../../functions/adapters/ews/errors.ts';
import { EwsProtocolError, EwsResponseError, EwsSoapFaultError } from '../../../functions/ews/errors.ts';
import { decodeFindFolderResponse } from '../../../functions/ews/folders.ts';
import { decodeGetItemResponse, decodeSyncFolderItemsResponse } from '../../../functions/ews/items.ts';
import { decodeSendNotification } from '../../../functions/ews/notification.ts';
import { decodeSubscribeResponse } from '../../../functions/ews/subscribe.ts';
import { NS, parseXml, REPLACEMENT_CHARACTER, type XmlElement } from '../../../functions/ews/xml.ts';
import { readSendNotificationResult } from '../../../simulator/notification-codec.ts';
import { describeWithSamples, type EwsSample } from '../../support/ews-samples.ts';

type Decoded = { ok: true; value: unknown } | { ok: false; error: unknown };

/** The decoder for each kind of sample; Faults are read as the answer to any operation. */
const DECODERS: Readonly<Record<string, (body: string) => Decoded>> = {
  SendNotification: (body) => decodeSendNotification(body),
  SubscribeResponse: (body) => decodeSubscribeResponse(body),
  GetItemResponse: (body) => decodeGetItemResponse(body),
  SyncFolderItemsResponse: (body) => decodeSyncFolderItemsResponse(body),
  FindFolderResponse: (body) => decodeFindFolderResponse(body),
  Fault: (body) => decodeGetItemResponse(body),
  SendNotificationResult: (body) => readSendNotificationResult(Buffer.from(body)),
};

/** What an error answer must become: the class, the code, the category and whether to retry. */
interface ExpectedFailure {
  readonly error: typeof EwsResponseError | typeof EwsSoapFaultError | typeof EwsProtocolError;
  readonly responseCode?: string;
  readonly category?: string;
  readonly retryable: boolean;
  readonly advice: RegExp;
}

const EXPECTED_FAILURES: Readonly<Record<string, ExpectedFailure>> = {
  'exchangelib__test_services__L111__Fault.xml': {
    error: EwsResponseError,
    responseCode: 'ErrorServerBusy',
    category: 'ServerBusy',
    retryable: true,
    advice: /BackOffMilliseconds=297749: Exchange is throttling/,
  },
  'exchangelib__test_services__L140__Fault.xml': schemaValidation(),
  'msdocs__addimgroup-op__L121__Fault.xml': schemaValidation(),
  'msdocs__findconversation-op__L219__Fault.xml': schemaValidation(),
  'msdocs__getserviceconfiguration-op__L102__Fault.xml': schemaValidation(),
  'msdocs__updateitem-op-contact__L198__Fault.xml': schemaValidation(),
  'msdocs__getimitemlist-op__L443__Fault.xml': {
    error: EwsResponseError,
    responseCode: 'ErrorIncorrectSchemaVersion',
    category: 'InvalidRequest',
    retryable: false,
    advice: /Exchange version/,
  },
  'msdocs__getuseroofsettings-op__L155__Fault.xml': {
    error: EwsSoapFaultError,
    retryable: false,
    advice: /refused the request as sent .* retrying it unchanged will not help/,
  },
  'exchangelib__test_services__L174__FindFolderResponse.xml': {
    error: EwsResponseError,
    responseCode: 'ErrorTooManyObjectsOpened',
    category: 'Transient',
    retryable: true,
    advice: /retry with backoff/,
  },
  'msdocs__findfolder-op__L143__FindFolderResponse.xml': {
    error: EwsResponseError,
    responseCode: 'ErrorInvalidIdMalformed',
    category: 'InvalidRequest',
    retryable: false,
    advice: /rejected the request itself/,
  },
  'msdocs__subscribe-op__L132__SubscribeResponse.xml': {
    error: EwsResponseError,
    responseCode: 'ErrorSubscriptionDelegateAccessNotSupported',
    category: 'AccessDenied',
    retryable: false,
    advice: /impersonation/,
  },
  'msdocs__syncfolderitems-op__L209__SyncFolderItemsResponse.xml': {
    error: EwsResponseError,
    responseCode: 'ErrorInvalidSyncStateData',
    category: 'InvalidSyncState',
    retryable: false,
    advice: /from scratch/,
  },
};

function schemaValidation(): ExpectedFailure {
  return {
    error: EwsResponseError,
    responseCode: 'ErrorSchemaValidation',
    category: 'InvalidRequest',
    retryable: false,
    advice: /rejected the request itself/,
  };
}

/** Samples a push client never receives, or that documentation cut short: not to be read. */
const NOT_FOR_US: Readonly<Record<string, RegExp>> = {
  // Streaming subscriptions answer without a watermark; a push client must not take one for its own.
  'msdocs__how-to-stream-notifications-about-mailbox-events__L91__SubscribeResponse.xml': /no m:Watermark/,
  'msdocs__how-to-maintain-affinity-between-group-of-subscriptions-and-mailbox-server__L175__SubscribeResponse.xml':
    /no m:Watermark/,
  'msdocs__how-to-maintain-affinity-between-group-of-subscriptions-and-mailbox-server__L250__SubscribeResponse.xml':
    /no m:Watermark/,
  // "…" stands for the elided rest of the message: the XML is cut off.
  'msdocs__verifying-the-results-of-an-ews-or-ews-managed-api-call__L30__GetItemResponse.xml':
    /not well-formed/,
};

const ENVELOPE_OPEN = `<s:Envelope xmlns:s="${NS.soap11}" xmlns:m="${NS.messages}" xmlns:t="${NS.types}">`;

/**
 * The message as it travels: documentation shows some as fragments (the Body, the operation's
 * payload, one response message, or a Header and Body without their Envelope).
 */
function onTheWire(sample: EwsSample): string {
  const text = sample.repaired.replace(/^\s*<\?xml[^>]*\?>/, '');
  const root = /<(?:[\w.-]+:)?([\w.-]+)[\s>/]/.exec(text)?.[1] ?? '';
  if (root === 'Envelope') return sample.repaired;
  if (root === 'Body' || root === 'Header') return `${ENVELOPE_OPEN}${text}</s:Envelope>`;
  if (root.endsWith('ResponseMessage')) {
    const response = root.replace(/Message$/, '');
    return `${ENVELOPE_OPEN}<s:Body><m:${response}><m:ResponseMessages>${text}</m:ResponseMessages></m:${response}></s:Body></s:Envelope>`;
  }
  return `${ENVELOPE_OPEN}<s:Body>${text}</s:Body></s:Envelope>`;
}

function allElements(element: XmlElement): XmlElement[] {
  return [element, ...element.children.flatMap(allElements)];
}

/**
 * A pull or streaming answer's Notification elements, each cut out as written and sent as a push
 * would carry it. Cut as text, because some documentation answers around them are not
 * well-formed (a closing tag that does not match); the wrapper declares the m: and t: prefixes
 * and, for an unprefixed Notification, the messages namespace as the default.
 */
function notificationsAsPushes(sample: EwsSample): string[] {
  const found = sample.repaired.match(/<((?:[\w.-]+:)?)Notification[\s>][\s\S]*?<\/\1Notification>/g) ?? [];
  return found.map(
    (notification) =>
      `<s:Envelope xmlns:s="${NS.soap11}"><s:Body><m:SendNotification xmlns:m="${NS.messages}" xmlns:t="${NS.types}" xmlns="${NS.messages}"><m:ResponseMessages><m:SendNotificationResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>${notification}</m:SendNotificationResponseMessage></m:ResponseMessages></m:SendNotification></s:Body></s:Envelope>`,
  );
}

/** Every id, change key and watermark a decoded value holds must appear in the sample as sent. */
function expectOpaqueValuesAsSent(value: unknown, sample: string, file: string): void {
  const seen: string[] = [];
  const visit = (node: unknown, key: string): void => {
    if (typeof node === 'string') {
      if (/^(id|itemId|folderId|changeKey|watermark|previousWatermark|subscriptionId|syncState)$/.test(key)) {
        seen.push(node);
      }
    } else if (Array.isArray(node)) for (const child of node) visit(child, key);
    else if (typeof node === 'object' && node !== null) {
      for (const [k, v] of Object.entries(node)) visit(v, k);
    }
  };
  visit(value, '');
  for (const opaque of seen) {
    const asAttribute = sample.includes(`"${opaque}"`);
    const asText = sample.includes(`>${opaque}<`);
    expect(asAttribute || asText, `${file}: ${JSON.stringify(opaque)} is not in the sample as sent`).toBe(
      true,
    );
  }
}

function decoderOf(sample: EwsSample): ((body: string) => Decoded) | undefined {
  return DECODERS[sample.operation];
}

describeWithSamples('real EWS messages (../shared/ews-samples)', (samples) => {
  it('knows what to do with every sample', () => {
    for (const sample of samples) {
      const handled = decoderOf(sample) !== undefined || sample.checker === 'NotificationContent';
      expect(handled, `${sample.file} (${sample.operation})`).toBe(true);
    }
  });

  for (const sample of samples) {
    const decode = decoderOf(sample);
    if (sample.checker === 'NotificationContent') {
      it(`reads the notifications of ${sample.file}`, () => {
        const pushes = notificationsAsPushes(sample);
        // An error answer (ResponseClass="Error") carries no Notification.
        expect(pushes.length > 0).toBe(!/ResponseClass="Error"/.test(sample.repaired));
        for (const push of pushes) {
          const decoded = decodeSendNotification(push);
          if (!decoded.ok) throw decoded.error;
          expect(decoded.value.notifications[0]?.events.length ?? 0).toBeGreaterThan(0);
          expectOpaqueValuesAsSent(decoded.value, sample.repaired, sample.file);
        }
      });
      continue;
    }
    if (decode === undefined) continue;
    const expected = EXPECTED_FAILURES[sample.file];
    const notForUs = NOT_FOR_US[sample.file];
    it(`${notForUs ? 'does not take' : expected ? 'reads the error in' : 'reads'} ${sample.file}`, () => {
      const result = decode(onTheWire(sample));
      if (notForUs !== undefined) {
        expect(result.ok).toBe(false);
        expect(String(result.ok ? '' : (result.error as Error).message)).toMatch(notForUs);
        return;
      }
      if (expected !== undefined) {
        if (result.ok) throw new Error(`${sample.file} was read as a success`);
        const error = result.error;
        expect(error).toBeInstanceOf(expected.error);
        if (expected.responseCode !== undefined)
          expect(error).toMatchObject({ responseCode: expected.responseCode });
        if (expected.category !== undefined) expect(error).toMatchObject({ category: expected.category });
        if (!(error instanceof Error)) throw new Error('not an Error');
        expect(isRetryable(error as EwsResponseError)).toBe(expected.retryable);
        expect(error.message).toMatch(expected.advice);
        return;
      }
      if (!result.ok) throw result.error;
      expectOpaqueValuesAsSent(result.value, sample.repaired, sample.file);
      if (sample.operation === 'SendNotificationResult') {
        expect(result.value).toBe(/<(?:\w+:)?SubscriptionStatus>(\w+)</.exec(sample.repaired)?.[1]);
      }
    });
    if (sample.repairs.length > 0) {
      it(`refuses ${sample.file} as stored cleanly, or reads it as repaired`, () => {
        const stored = decode(sample.stored);
        if (stored.ok) expect(stored.value).toEqual(decode(onTheWire(sample)).ok ? stored.value : undefined);
        else
          expect(String((stored.error as Error).message ?? stored.error)).toMatch(
            /well-formed|not a SOAP|Envelope|root element|undeclared|not declared/,
          );
      });
    }
  }

  it('keeps an id with a leading space byte for byte (Id=" q07AAAAA==")', () => {
    const sample = samples.find(
      (s) => s.file === 'msdocs__how-to-synchronize-items__L205__SyncFolderItemsResponse.xml',
    );
    if (sample === undefined) throw new Error('the sample with the spaced id is gone from the manifest');
    const decoded = decodeSyncFolderItemsResponse(sample.repaired);
    if (!decoded.ok) throw decoded.error;
    const ids = decoded.value.changes.map((c) => ('item' in c ? c.item.id : c.itemId));
    expect(ids).toContain(' q07AAAAA==');
  });

  it('reads a response whose text holds references to characters XML forbids, as U+FFFD', () => {
    const sample = samples.find((s) => s.file === 'viewpoint__dodgy_ews_response__GetItemResponse.xml');
    if (sample === undefined) throw new Error('the sample with control characters is gone from the manifest');
    const parsed = parseXml(sample.repaired, { maxBytes: 1024 * 1024, maxDepth: 64 });
    if (!parsed.ok) throw new Error(parsed.error.message);
    const body = allElements(parsed.value).find((e) => e.ns === NS.types && e.name === 'Body');
    expect(body?.text).toBe(`Invalid characters: ${Array(29).fill(REPLACEMENT_CHARACTER).join(' ')}`);
    const decoded = decodeGetItemResponse(sample.repaired);
    if (!decoded.ok) throw decoded.error;
    // Its ids are empty: that one item is unusable, and said so without blaming the URL.
    const [item] = decoded.value;
    expect(item?.ok).toBe(false);
    const error = item?.ok === false ? item.error : undefined;
    expect(error).toBeInstanceOf(EwsProtocolError);
    expect(error?.message).not.toMatch(/URL/);
  });
});
