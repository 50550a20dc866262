// placeOrder load: each request orders 3 distinct products drawn from a catalog, so orders
// contend for stock rows as a marketplace's do, not all for the same three.
//   node bench/place-order.mjs <base-url> <token> <input-template-json> <product-ids-json> <seconds> <connections>
// Prints autocannon's JSON result (with `orderedUnits`: units ordered per product by the
// requests that were answered with an order).
import { createRequire } from "node:module";

const require = createRequire(`${process.env.IRIS_BENCH_TOOLS ?? `${process.env.HOME}/.cache/iris-bench`}/node_modules/`);
const autocannon = require("autocannon");

const [base, token, template, productsJson, seconds, connections] = process.argv.slice(2);
const input = JSON.parse(template);
const products = JSON.parse(productsJson);
const query =
  "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id lines { productId: product { id } quantity } } } }";
const ordered = {};

function body() {
  const picked = new Set();
  while (picked.size < 3) picked.add(products[Math.floor(Math.random() * products.length)]);
  const lines = [...picked].map((productId, i) => ({ productId, quantity: i + 1 }));
  return JSON.stringify({ query, variables: { input: { ...input, lines } } });
}

const result = await autocannon({
  url: `${base}/graphql`,
  method: "POST",
  connections: Number(connections),
  duration: Number(seconds),
  headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
  requests: [
    {
      setupRequest: (request) => ({ ...request, body: body() }),
      onResponse: (status, responseBody) => {
        if (status !== 200) return;
        const answer = JSON.parse(responseBody);
        if (answer.errors || !answer.data?.placeOrder) {
          ordered.__failed = (ordered.__failed ?? 0) + 1;
          return;
        }
        for (const line of answer.data.placeOrder.order.lines) {
          ordered[line.productId.id] = (ordered[line.productId.id] ?? 0) + Number(line.quantity);
        }
      },
    },
  ],
});
console.log(JSON.stringify({ ...result, orderedUnits: ordered }));
