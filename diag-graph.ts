import { CHAOS } from './graph-simulator/options.ts';
import { startLocalSystem } from './local/system.ts';
const system = await startLocalSystem({ timeScale: 600, mailboxes: 2, source: 'graph', chaos: true, graphChaos: { ...CHAOS, missedPerHour: 0.5, reauthorizationPerHour: 0.5 }, seed: 3,
  log: (e) => { if (e.service === 'renewer' && (e.level === 'warn' || e.level === 'error')) console.log('log', e.level, e.message, JSON.stringify(e.extra).slice(0, 200)); } });
await new Promise((r) => setTimeout(r, 25_000));
await system.settle({ capMs: 60_000 });
const g = system.graph!;
const t = (ms: number) => new Date(ms).toISOString().slice(11, 19);
const reasons = new Map<string, number>();
for (const l of g.losses()) reasons.set(l.reason, (reasons.get(l.reason) ?? 0) + 1);
console.log('loss reasons', [...reasons]);
for (const l of g.losses().slice(0, 40)) console.log('loss', t(l.at), l.subscriptionId.slice(0, 8), l.channel, l.reason, l.changeSeq);
for (const e of system.delivered.filter((e) => e.type.includes('subscription.') && !e.type.endsWith('renewed'))) console.log('ev', e.time.slice(11, 19), e.type.replace('exchange-push-bridge.', ''), e.data.mailbox);
for (const s of g.subscriptions()) console.log('sub', s.id.slice(0, 8), s.mailbox, s.resource.split('/').pop(), s.state, t(s.createdAt), s.endedAt && t(s.endedAt), s.endReason, 'reauth', s.reauthorizationRequiredSince && t(s.reauthorizationRequiredSince), 'paused', s.paused);
console.log(JSON.stringify(system.report().bySource?.graph));
await system.stop();
