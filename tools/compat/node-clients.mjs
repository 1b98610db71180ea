// Drives a running `rankengine serve` with the stock Node.js Redis clients at their default settings (only the
// password given): ioredis and node-redis, each in RESP2 and RESP3. Run by the .NET compatibility tests:
//   node tools/compat/node-clients.mjs PORT TOKEN
// Prints one "ok" line per client and protocol; any mismatch throws (exit code 1) with what differed.
import assert from 'node:assert/strict';
import Redis from 'ioredis';
import { createClient } from 'redis';

const [port, token] = [Number(process.argv[2]), process.argv[3]];
if (!port || !token) throw new Error('usage: node-clients.mjs PORT TOKEN');

const text = (v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v));

// A map reply as [key, value] pairs, whatever shape the client gives it (flat array, Map or object).
function pairs(reply) {
  if (reply instanceof Map) return [...reply.entries()].map(([k, v]) => [text(k), v]);
  if (Array.isArray(reply)) {
    const out = [];
    for (let i = 0; i < reply.length; i += 2) out.push([text(reply[i]), reply[i + 1]]);
    return out;
  }
  return Object.entries(reply);
}
const field = (reply, key) => {
  const hit = pairs(reply).find(([k]) => k === key);
  assert.ok(hit, `reply has no '${key}': ${JSON.stringify(reply)}`);
  return hit[1];
};

// The same checks for every client: `cmd(...args)` sends one command, `batch(list)` pipelines,
// `multi(list)` runs MULTI … EXEC.
async function exercise(name, cmd, batch, multi) {
  const id = `${name}-${process.pid}-`; // unique per run: the store outlives the script
  assert.equal(text(await cmd('PING')), 'PONG');
  assert.equal(text(await cmd('ECHO', 'hello')), 'hello');
  assert.equal(text(await cmd('ITEM.ADD', id + 'a', 'a heist film in space', 'FIELD', 'year', '2024', 'TAGS', 'genres', 'Sci-Fi|Crime')), 'OK');
  const encoded = await cmd('ENCODE', 'a quiet drama about a family');
  assert.equal(encoded.length, 1);
  assert.ok(Buffer.isBuffer(encoded[0]) && encoded[0].length > 0 && encoded[0].length % 4 === 0, 'ENCODE gives float32 bytes');
  assert.equal(text(await cmd('ITEM.ADDVEC', id + 'b', encoded[0], 'STR', 'genres', 'Drama')), 'OK');
  const item = await cmd('ITEM.GET', id + 'a');
  assert.equal(text(field(item, 'id')), id + 'a');
  assert.equal(text(field(item, 'text')), 'a heist film in space');
  assert.equal(text(await cmd('USER.EVENT', id + 'u', id + 'a', 'like')), 'OK');
  const user = await cmd('USER.GET', id + 'u');
  const events = field(user, 'events');
  assert.equal(events.length, 1);
  assert.equal(text(events[0][0]), id + 'a');
  const ranked = await cmd('RANK', id + 'u', 'K', '10', 'CANDIDATES', '2', id + 'a', id + 'b');
  const items = field(ranked, 'items');
  assert.equal(items.length, 2);
  assert.deepEqual(items.map((i) => text(i[0])).sort(), [id + 'a', id + 'b']);
  assert.equal(text(field(ranked, 'strategy')), 'personalized');
  const scored = await cmd('SCORE', id + 'u', id + 'b', id + 'a');
  assert.equal(field(scored, 'items').length, 2);
  await assert.rejects(cmd('RANK', id + 'u', 'K', '0'), /TOOLARGE|BADARG/);
  assert.ok(Number(await cmd('DBSIZE')) >= 2);
  assert.equal(text(await cmd('SAVE')), 'OK');
  // Pipelining: 200 requests written before any reply is read come back in order.
  const echoes = await batch(Array.from({ length: 200 }, (_, i) => ['ECHO', `m${i}`]));
  assert.deepEqual(echoes.map(text), Array.from({ length: 200 }, (_, i) => `m${i}`));
  // MULTI/EXEC: queued, then run in order; the write is visible afterwards.
  const results = await multi([['ECHO', 'x'], ['USER.EVENT', id + 'u', id + 'b', 'click'], ['ITEM.DEL', id + 'b']]);
  assert.deepEqual(results.map(text), ['x', 'OK', '1']);
  assert.equal(field(await cmd('USER.GET', id + 'u'), 'events').length, 2);
  assert.equal(text(await cmd('ITEM.DEL', id + 'a')), '1');
  await assert.rejects(cmd('SELECT', '1'), /DB index is out of range/);
}

async function viaIoredis(protocol) {
  const name = `ioredis${protocol}`;
  const client = new Redis({ port, host: '127.0.0.1', password: token, protocol, connectionName: name, lazyConnect: true });
  await client.connect();
  try {
    assert.equal(text(await client.call('CLIENT', 'GETNAME')), name);
    await exercise(name, (...a) => client.callBuffer(a[0], a.slice(1)),
      async (list) => {
        const p = client.pipeline();
        for (const c of list) p.call(c[0], ...c.slice(1));
        return (await p.exec()).map(([err, v]) => { if (err) throw err; return v; });
      },
      async (list) => {
        const m = client.multi();
        for (const c of list) m.call(c[0], ...c.slice(1));
        return (await m.exec()).map(([err, v]) => { if (err) throw err; return v; });
      });
  } finally {
    client.disconnect();
  }
  // Without the password every engine command is refused.
  const anonymous = new Redis({ port, host: '127.0.0.1', protocol, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0 });
  anonymous.on('error', () => {});
  try {
    await anonymous.connect().catch(() => {});
    await assert.rejects(anonymous.call('DBSIZE'), /NOAUTH/);
  } finally {
    anonymous.disconnect();
  }
  console.log(`${name} ok`);
}

async function viaNodeRedis(RESP) {
  const name = `node-redis${RESP}`;
  const client = createClient({ socket: { port, host: '127.0.0.1', reconnectStrategy: false }, password: token, RESP, name });
  client.on('error', () => {});
  await client.connect();
  try {
    assert.equal(text(await client.sendCommand(['CLIENT', 'GETNAME'])), name);
    const raw = client.withTypeMapping({ [36]: Buffer }); // bulk strings as Buffers (vector blobs stay bytes)
    const cmd = (...a) => raw.sendCommand(a.map((x) => (Buffer.isBuffer(x) ? x : String(x))));
    await exercise(name, cmd,
      (list) => Promise.all(list.map((c) => client.sendCommand(c))),
      (list) => {
        const m = client.multi();
        for (const c of list) m.addCommand(c);
        return m.exec();
      });
  } finally {
    await client.quit().catch(() => client.destroy());
  }
  // database: 1 is refused with a clear error during the handshake (RankEngine has one database, 0).
  const otherDb = createClient({ socket: { port, host: '127.0.0.1', reconnectStrategy: false }, password: token, RESP, database: 1 });
  otherDb.on('error', () => {});
  await assert.rejects(otherDb.connect(), /DB index is out of range/);
  otherDb.destroy();
  const anonymous = createClient({ socket: { port, host: '127.0.0.1', reconnectStrategy: false }, RESP: 2 });
  anonymous.on('error', () => {});
  await anonymous.connect();
  try {
    await assert.rejects(anonymous.sendCommand(['DBSIZE']), /NOAUTH/);
  } finally {
    anonymous.destroy();
  }
  console.log(`${name} ok`);
}

await viaIoredis(2);
await viaIoredis(3);
await viaNodeRedis(2);
await viaNodeRedis(3);
