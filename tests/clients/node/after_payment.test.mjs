// After a payment, with stripe-node as Stripe's Node guides write it: a webhook endpoint made with
// the SDK, its deliveries received by a Node HTTP server and verified with
// `stripe.webhooks.constructEvent(rawBody, request.headers["stripe-signature"], endpointSecret)`
// (docs.stripe.com/webhooks/quickstart), the events read back; refunds, the balance and its
// transactions, and the refusals of money-out. tests/clients/test_node.py runs it against the
// pay-out world's edge (tests/clients/conftest.py's `stripe_world`), whose worker delivers
// webhooks meanwhile; PAYCORE_AFTER_PAYMENT_KEYS holds a merchant's secret key per test, in order.
import assert from "node:assert/strict";
import http from "node:http";
import { test } from "node:test";
import { edgeStripe } from "./edge.mjs";

const env = process.env;
const keys = env.PAYCORE_AFTER_PAYMENT_KEYS.split(",");

function newStripe() {
  return edgeStripe(keys.shift());
}

// The guide's Express handler, on node:http: the raw body, never parsed before it is verified.
async function startReceiver(stripe, secretOf) {
  const events = [];
  const refused = [];
  const server = http.createServer((request, response) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => {
      let event;
      try {
        event = stripe.webhooks.constructEvent(
          Buffer.concat(chunks),
          request.headers["stripe-signature"],
          secretOf(),
        );
      } catch (error) {
        refused.push(error.message);
        response.writeHead(400).end(`Webhook Error: ${error.message}`);
        return;
      }
      events.push(event);
      response.writeHead(200, { "Content-Type": "application/json" });
      response.end(JSON.stringify({ received: true }));
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${server.address().port}/webhook`;
  return { url, events, refused, close: () => new Promise((resolve) => server.close(resolve)) };
}

async function eventually(condition, what, seconds = 20) {
  const deadline = Date.now() + seconds * 1000;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`${what} did not happen within ${seconds} s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test("webhooks (docs.stripe.com/webhooks/quickstart)", async () => {
  const stripe = newStripe();
  let endpointSecret = "";
  const receiver = await startReceiver(stripe, () => endpointSecret);
  try {
    const endpoint = await stripe.webhookEndpoints.create({
      url: receiver.url,
      enabled_events: ["payment_intent.succeeded", "refund.updated"],
    });
    assert.deepEqual([endpoint.object, endpoint.status], ["webhook_endpoint", "enabled"]);
    assert.ok(endpoint.secret.startsWith("whsec_"));
    endpointSecret = endpoint.secret;

    const paymentIntent = await stripe.paymentIntents.create({
      amount: 2000,
      currency: "usd",
      payment_method: "pm_card_visa",
      confirm: true,
    });
    const refund = await stripe.refunds.create({ payment_intent: paymentIntent.id, amount: 500 });
    const ofType = (type) => receiver.events.filter((event) => event.type === type);
    await eventually(
      () => ofType("payment_intent.succeeded").length && ofType("refund.updated").length,
      "the deliveries",
    );
    assert.deepEqual(receiver.refused, []);
    const [succeeded] = ofType("payment_intent.succeeded");
    assert.equal(succeeded.object, "event");
    switch (succeeded.type) {
      case "payment_intent.succeeded": {
        const intent = succeeded.data.object;
        assert.deepEqual([intent.object, intent.id, intent.amount], ["payment_intent", paymentIntent.id, 2000]);
        break;
      }
      default:
        assert.fail(`unexpected ${succeeded.type}`);
    }
    assert.deepEqual(
      ofType("refund.updated").map((event) => [event.data.object.id, event.data.object.status]),
      [[refund.id, "succeeded"]],
    );

    const read = await stripe.events.retrieve(succeeded.id);
    assert.deepEqual(read, succeeded); // the body delivered is the event read
    const refundEvents = await stripe.events.list({ type: "refund.*" });
    assert.deepEqual(
      new Set(refundEvents.data.map((event) => event.type)),
      new Set(["refund.created", "refund.updated"]),
    );

    // A tampered body fails the check, as the guide's 400 branch expects.
    const header = stripe.webhooks.generateTestHeaderString({
      payload: JSON.stringify(succeeded),
      secret: "whsec_not_the_endpoints",
    });
    assert.throws(
      () => stripe.webhooks.constructEvent(JSON.stringify(succeeded), header, endpointSecret),
      (error) => error.type === "StripeSignatureVerificationError",
    );

    // An event paycore never sends (authorizations do not expire): refused when the endpoint is made.
    await assert.rejects(
      stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ["charge.expired"] }),
      (error) => {
        assert.deepEqual(
          [error.type, error.statusCode, error.param],
          ["StripeInvalidRequestError", 400, "enabled_events[0]"],
        );
        return true;
      },
    );
    const deleted = await stripe.webhookEndpoints.del(endpoint.id);
    assert.equal(deleted.deleted, true);
  } finally {
    await receiver.close();
  }
});

test("refunds, the balance and money-out refusals (docs.stripe.com/refunds, /payouts)", async () => {
  const stripe = newStripe();
  const paymentIntent = await stripe.paymentIntents.create({
    amount: 2000,
    currency: "usd",
    payment_method: "pm_card_visa",
    confirm: true,
  });
  const partial = await stripe.refunds.create({ payment_intent: paymentIntent.id, amount: 500 });
  const rest = await stripe.refunds.create({ payment_intent: paymentIntent.id });
  assert.deepEqual([partial.amount, rest.amount], [500, 1500]);
  const refunds = await stripe.refunds.list({ payment_intent: paymentIntent.id, limit: 1 }).autoPagingToArray({ limit: 10 });
  assert.deepEqual(refunds.map((found) => found.id), [rest.id, partial.id]);
  await assert.rejects(stripe.refunds.create({ payment_intent: paymentIntent.id }), (error) => {
    assert.deepEqual(
      [error.type, error.statusCode, error.code, error.param],
      ["StripeInvalidRequestError", 400, "charge_already_refunded", "payment_intent"],
    );
    return true;
  });

  const balance = await stripe.balance.retrieve();
  assert.equal(balance.object, "balance");
  const transactions = await stripe.balanceTransactions.list({ limit: 100 });
  assert.ok(transactions.data.length >= 2);
  for (const transaction of transactions.data) {
    const lines = transaction.fee_details.reduce((sum, line) => sum + line.amount, 0);
    assert.equal(lines, transaction.fee, transaction.id);
  }
  const [payment] = transactions.data.filter((transaction) => transaction.type === "charge");
  assert.deepEqual(
    payment.fee_details.map((line) => [line.type, line.currency]),
    [["processing_fee", "usd"]],
  );

  await assert.rejects(stripe.payouts.create({ amount: 1000, currency: "usd" }), (error) => {
    assert.deepEqual(
      [error.type, error.code, error.param],
      ["StripeInvalidRequestError", "bank_account_missing", "destination"],
    );
    return true;
  });
  const payouts = await stripe.payouts.list();
  assert.deepEqual(payouts.data, []);
  const disputes = await stripe.disputes.list();
  assert.deepEqual(disputes.data, []);
});
