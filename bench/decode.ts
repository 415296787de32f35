/**
 * Decode cost per notification against a raw fast-xml-parser parse of the same bytes: what the
 * decoder's safety (well-formedness, DOCTYPE refusal, namespace resolution, typed output) costs
 * on top of merely parsing.
 */
import { XMLParser } from 'fast-xml-parser';
import { decodeSendNotification } from '../functions/ews/notification.ts';
import { type Comparison, compare, type Effort } from './harness.ts';

const MESSAGES = 'http://schemas.microsoft.com/exchange/services/2006/messages';
const TYPES = 'http://schemas.microsoft.com/exchange/services/2006/types';

/** A realistic push: Exchange Online-sized base64 ids and watermarks, pretty-printed like a capture. */
export function samplePush(events: number): string {
  const watermark = (n: number) => `AQAAAJ2pH1D8a8hNqB0Yc2Zt1hQ${String(n).padStart(6, '0')}AAAAAAE=`;
  const body =
    events === 0
      ? `<t:StatusEvent>\n<t:Watermark>${watermark(1)}</t:Watermark>\n</t:StatusEvent>`
      : Array.from(
          { length: events },
          (_, i) =>
            `<t:CreatedEvent>\n<t:Watermark>${watermark(i + 1)}</t:Watermark>\n<t:TimeStamp>2026-11-21T10:00:${String(i % 60).padStart(2, '0')}Z</t:TimeStamp>\n` +
            `<t:ItemId Id="AAMkADk3YzE0ZWFkLTFmMzYtNDc1ZC05ZjQ3LWE2NmU3ZjA1ZmI2NgBGAAAAAAC+aOZ${String(i).padStart(4, '0')}AAA=" ChangeKey="CQAAABYAAAB/ZqT+n3ytQIlGfUlUfn4aAAAm6bgn"/>\n` +
            '<t:ParentFolderId Id="AAMkADk3YzE0ZWFkLTFmMzYtNDc1ZC05ZjQ3LWE2NmU3ZjA1ZmI2NgAuAAAAAAC+aOZ=" ChangeKey="AQAAAA=="/>\n</t:CreatedEvent>',
        ).join('\n');
  return (
    '<?xml version="1.0" encoding="utf-8"?>\n<soap11:Envelope xmlns:soap11="http://schemas.xmlsoap.org/soap/envelope/">\n' +
    `<soap11:Header>\n<t:RequestServerVersion xmlns:t="${TYPES}" Version="Exchange2013"/>\n</soap11:Header>\n` +
    `<soap11:Body>\n<m:SendNotification xmlns:m="${MESSAGES}" xmlns:t="${TYPES}">\n<m:ResponseMessages>\n` +
    '<m:SendNotificationResponseMessage ResponseClass="Success">\n<m:ResponseCode>NoError</m:ResponseCode>\n<m:Notification>\n' +
    '<t:SubscriptionId>FQBuZXctcHVzaC1zdWJzY3JpcHRpb24tMDAxEAAAAA==</t:SubscriptionId>\n' +
    `<t:PreviousWatermark>${watermark(0)}</t:PreviousWatermark>\n<t:MoreEvents>false</t:MoreEvents>\n${body}\n` +
    '</m:Notification>\n</m:SendNotificationResponseMessage>\n</m:ResponseMessages>\n</m:SendNotification>\n</soap11:Body>\n</soap11:Envelope>\n'
  );
}

export async function benchDecode(
  onProgress: (line: string) => void,
  effort: Effort = 'full',
): Promise<Comparison[]> {
  // The baseline keeps attributes (the ids live there) and is otherwise fast-xml-parser's default.
  const raw = new XMLParser({ ignoreAttributes: false });
  const results: Comparison[] = [];
  for (const [label, events, iterations] of [
    ['heartbeat (1 StatusEvent)', 0, 4000],
    ['50-event batch', 50, 120],
  ] as const) {
    const body = samplePush(events);
    const check = decodeSendNotification(body);
    if (!check.ok || check.value.notifications[0]?.events.length !== Math.max(events, 1)) {
      throw new Error(`benchmark input for ${label} does not decode as expected`);
    }
    results.push(
      await compare({
        name: `decode SendNotification, ${label}, ${body.length} bytes`,
        baseline: 'raw fast-xml-parser parse',
        target: 1.3,
        baselineWork: () => raw.parse(body),
        candidateWork: () => decodeSendNotification(body),
        iterationsPerRound: iterations,
        rounds: 15,
        effort,
        onProgress: (round, rounds) => onProgress(`  ${label}: round ${round}/${rounds}`),
      }),
    );
  }
  return results;
}
