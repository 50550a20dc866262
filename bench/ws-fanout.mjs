// Websocket fan-out: N subscribers of `orderStatusChanged` (graphql-transport-ws) on one order,
// one status change, and how long until each subscriber has it.
//   node bench/ws-fanout.mjs <base-url> <token> <order-id> [subscribers=10000]
// Prints p50/p99/max delivery time (from sending the mutation), how many received it, and
// the server's RSS (pass its pid in IRIS_PID) before connecting, with every subscriber
// connected (memory per idle subscriber), and after the event.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(process.env.IRIS_BENCH_TOOLS
  ? `${process.env.IRIS_BENCH_TOOLS}/node_modules/`
  : `${process.env.HOME}/.cache/iris-bench/node_modules/`);
const WebSocket = require("ws");

const [base, token, orderId, n = "10000"] = process.argv.slice(2);
const total = Number(n);
const wsUrl = base.replace(/^http/, "ws") + "/graphql/ws";
const rss = () => {
  if (!process.env.IRIS_PID) return NaN;
  const status = readFileSync(`/proc/${process.env.IRIS_PID}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
};

const SUBSCRIPTION =
  "subscription($id: ID!) { orderStatusChanged(orderId: $id) { to order { id status } } }";
let sentAt = 0n;
const received = [];
let subscribed = 0;
const failed = [];

function connect(i) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, "graphql-transport-ws");
    ws.on("open", () =>
      ws.send(JSON.stringify({ type: "connection_init", payload: { Authorization: `Bearer ${token}` } })));
    ws.on("message", (data) => {
      const message = JSON.parse(data.toString());
      if (process.env.DEBUG) console.error(i, JSON.stringify(message).slice(0, 300));
      if (message.type === "connection_ack") {
        ws.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: SUBSCRIPTION, variables: { id: orderId } } }));
        subscribed += 1;
        resolve(ws);
      } else if (message.type === "next") {
        received.push(Number(process.hrtime.bigint() - sentAt) / 1e6);
      } else if (message.type === "error" || message.type === "complete") {
        failed.push(`subscriber ${i}: ${message.type} ${JSON.stringify(message.payload ?? null)}`);
      }
    });
    ws.on("error", reject);
  });
}

async function graphql(query, variables) {
  const response = await fetch(`${base}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

const before = rss();
const sockets = [];
const started = Date.now();
for (let i = 0; i < total; i += 200) {
  const batch = [];
  for (let j = i; j < Math.min(total, i + 200); j++) batch.push(connect(j));
  sockets.push(...(await Promise.all(batch)));
}
const connectedIn = (Date.now() - started) / 1000;
// Subscriptions become active asynchronously after `subscribe`: let them settle.
await new Promise((r) => setTimeout(r, 3000));
if (failed.length) {
  console.error(`${failed.length} subscriptions failed, e.g. ${failed[0]}`);
  process.exit(1);
}
const connected = rss();

sentAt = process.hrtime.bigint();
await graphql("mutation($id: ID!) { confirmOrder(input: {orderId: $id}) { order { status } } }", { id: orderId });
const deadline = Date.now() + 30000;
while (received.length < total && Date.now() < deadline) {
  await new Promise((r) => setTimeout(r, 20));
}
const after = rss();
received.sort((a, b) => a - b);
if (!received.length) {
  console.error(`no subscriber received the change${failed.length ? `; ${failed[0]}` : ""}`);
  process.exit(1);
}
const pct = (p) => received[Math.min(received.length - 1, Math.ceil((p / 100) * received.length) - 1)];
console.log(`subscribers: ${total} (connected and subscribed in ${connectedIn.toFixed(1)} s)`);
console.log(`received: ${received.length} of ${total}`);
console.log(`delivery after the mutation was sent: p50 ${pct(50).toFixed(0)} ms, p99 ${pct(99).toFixed(0)} ms, max ${received[received.length - 1].toFixed(0)} ms`);
if (!Number.isNaN(before)) {
  console.log(`server RSS: ${before.toFixed(1)} MB before, ${connected.toFixed(1)} MB with ${total} idle subscribers (${(((connected - before) * 1024) / total).toFixed(1)} KB each), ${after.toFixed(1)} MB after the event`);
}
for (const ws of sockets) ws.terminate();
process.exit(received.length === total ? 0 : 1);
