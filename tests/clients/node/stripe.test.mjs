// stripe-node (the official SDK, npm `stripe`) pointed at paycore's REST edge, as a merchant's
// Node server would. tests/clients/test_node.py starts the servers and runs `node --test` on
// this file with the addresses and keys in the environment.
import assert from "node:assert/strict";
import { test } from "node:test";
import Stripe from "stripe";
import { edgeStripe } from "./edge.mjs";

const env = process.env;

function sdk(key = env.PAYCORE_SECRET_KEY, url = env.PAYCORE_EDGE_URL, options = {}) {
  return edgeStripe(key, url, {
    maxNetworkRetries: 0,
    apiVersion: "2025-01-27.acacia", // sent as Stripe-Version: accepted and ignored
    ...options,
  });
}

let cardCount = 0;
function visa() {
  // A Visa number of its own per payment (the fraud velocity counters see one payment a card).
  cardCount += 1;
  const body = `4${String(Date.now() % 1e9).padStart(9, "0")}${String(cardCount).padStart(5, "0")}`;
  const digits = [...body].map(Number);
  let sum = 0;
  for (let index = 0; index < digits.length; index += 1) {
    let digit = digits[digits.length - 1 - index];
    if (index % 2 === 0) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
  }
  return body + String((10 - (sum % 10)) % 10);
}

async function card(stripe, number = visa()) {
  return stripe.paymentMethods.create({
    type: "card",
    card: { number, exp_month: 12, exp_year: 2034, cvc: "123" },
  });
}

test("customers, cards and a confirmed intent with expand", async () => {
  const stripe = sdk();
  const customer = await stripe.customers.create({ email: "ada@example.com", name: "Ada" });
  assert.equal(customer.object, "customer");
  const method = await card(stripe);
  await stripe.paymentMethods.attach(method.id, { customer: customer.id });
  const intent = await stripe.paymentIntents.create({
    amount: 2000,
    currency: "usd",
    customer: customer.id,
    payment_method: method.id,
    confirm: true,
  });
  assert.equal(intent.status, "succeeded");
  assert.equal(intent.amount + intent.amount_received, 4000); // numbers, not strings
  const expanded = await stripe.paymentIntents.retrieve(intent.id, {
    expand: ["customer", "payment_method"],
  });
  assert.equal(expanded.customer.email, "ada@example.com");
  assert.equal(expanded.payment_method.id, method.id);
});

test("manual capture, cancel and partial refunds", async () => {
  const stripe = sdk();
  const held = await stripe.paymentIntents.create({
    amount: 5000,
    currency: "usd",
    payment_method: (await card(stripe)).id,
    capture_method: "manual",
    confirm: true,
  });
  assert.equal(held.status, "requires_capture");
  const captured = await stripe.paymentIntents.capture(held.id, { amount_to_capture: 3000 });
  assert.equal(captured.amount_received, 3000);
  await stripe.refunds.create({ payment_intent: held.id, amount: 1000 });
  await stripe.refunds.create({ payment_intent: held.id, amount: 500 });
  assert.equal((await stripe.paymentIntents.retrieve(held.id)).amount_refunded, 1500);

  const other = await stripe.paymentIntents.create({
    amount: 700,
    currency: "usd",
    payment_method: (await card(stripe)).id,
    capture_method: "manual",
    confirm: true,
  });
  const canceled = await stripe.paymentIntents.cancel(other.id);
  assert.equal(canceled.status, "canceled");
});

test("a decline is a StripeCardError with the payment intent", async () => {
  const stripe = sdk();
  const method = await card(stripe, "4000000000000002");
  await assert.rejects(
    stripe.paymentIntents.create({
      amount: 2000,
      currency: "usd",
      payment_method: method.id,
      confirm: true,
    }),
    (error) => {
      assert.ok(error instanceof Stripe.errors.StripeCardError);
      assert.equal(error.statusCode, 402);
      assert.equal(error.code, "card_declined");
      assert.equal(error.decline_code, "generic_decline");
      assert.equal(error.payment_intent.status, "requires_payment_method");
      return true;
    },
  );
});

test("a browser confirms with the publishable key and the client secret", async () => {
  const intent = await sdk().paymentIntents.create({ amount: 1200, currency: "usd" });
  const browser = sdk(env.PAYCORE_PUBLISHABLE_KEY);
  const method = await card(browser);
  const confirmed = await browser.paymentIntents.confirm(intent.id, {
    payment_method: method.id,
    client_secret: intent.client_secret,
  });
  assert.equal(confirmed.status, "succeeded");
});

test("auto-paging 250 intents", async () => {
  const stripe = sdk(env.PAYCORE_PAGER_KEY);
  const created = [];
  for (let index = 0; index < 250; index += 1) {
    created.push((await stripe.paymentIntents.create({ amount: 100 + index, currency: "usd" })).id);
  }
  const first = await stripe.paymentIntents.list({ limit: 100 });
  assert.deepEqual([first.object, first.url, first.has_more], ["list", "/v1/payment_intents", true]);
  const paged = [];
  for await (const intent of stripe.paymentIntents.list({ limit: 100 })) paged.push(intent.id);
  assert.deepEqual(paged, created.reverse());
});

test("balance and balance transactions", async () => {
  const stripe = sdk();
  const paid = await stripe.paymentIntents.create({
    amount: 1000,
    currency: "usd",
    payment_method: (await card(stripe)).id,
    confirm: true,
  });
  const balance = await stripe.balance.retrieve();
  assert.equal(balance.object, "balance");
  assert.ok(balance.pending.some((money) => money.currency === "usd" && money.amount >= 941));
  const transactions = await stripe.balanceTransactions.list({ limit: 100 });
  const mine = transactions.data.find((transaction) => transaction.source === paid.id);
  assert.deepEqual([mine.object, mine.amount, mine.fee, mine.net], ["balance_transaction", 1000, 59, 941]);
});

test("a subscription with its invoice", async () => {
  const stripe = sdk();
  const product = await stripe.products.create({ name: "Team plan" });
  const price = await stripe.prices.create({
    product: product.id,
    unit_amount: 1500,
    currency: "usd",
    recurring: { interval: "month", interval_count: 1 },
  });
  const customer = await stripe.customers.create({ email: "team@example.com" });
  const method = await card(stripe);
  await stripe.paymentMethods.attach(method.id, { customer: customer.id });
  const subscription = await stripe.subscriptions.create({
    customer: customer.id,
    items: [{ price: price.id, quantity: 3 }],
    default_payment_method: method.id,
    expand: ["latest_invoice"],
  });
  assert.equal(subscription.object, "subscription");
  assert.equal(subscription.items.data[0].quantity, 3);
  const invoice = subscription.latest_invoice;
  assert.deepEqual([invoice.object, invoice.total, invoice.lines.data[0].amount], ["invoice", 4500, 4500]);
});

test("idempotent retries: the caller's key, and the SDK's own key on a lost answer", async () => {
  const stripe = sdk();
  const first = await stripe.paymentIntents.create(
    { amount: 900, currency: "usd" },
    { idempotencyKey: "node-order-77" },
  );
  const again = await stripe.paymentIntents.create(
    { amount: 900, currency: "usd" },
    { idempotencyKey: "node-order-77" },
  );
  assert.equal(again.id, first.id);
  await assert.rejects(
    stripe.paymentIntents.create({ amount: 901, currency: "usd" }, { idempotencyKey: "node-order-77" }),
    (error) => error instanceof Stripe.errors.StripeIdempotencyError,
  );

  // Through a proxy that loses the first answer: the SDK retries with the key it made.
  const lossy = sdk(env.PAYCORE_LOSSY_KEY, env.PAYCORE_LOSSY_URL, { maxNetworkRetries: 2 });
  const intent = await lossy.paymentIntents.create({ amount: 4321, currency: "usd" });
  const listed = await sdk(env.PAYCORE_LOSSY_KEY).paymentIntents.list({ limit: 10 });
  assert.deepEqual(listed.data.map((found) => found.id), [intent.id]);
});

test("errors are the SDK's error classes", async () => {
  const stripe = sdk();
  await assert.rejects(stripe.paymentIntents.create({ amount: -5, currency: "usd" }), (error) => {
    assert.ok(error instanceof Stripe.errors.StripeInvalidRequestError);
    assert.equal(error.param, "amount");
    return true;
  });
  await assert.rejects(
    sdk(`sk_test_${"x".repeat(40)}`).customers.list(),
    (error) => error instanceof Stripe.errors.StripeAuthenticationError,
  );
  const limited = sdk(env.PAYCORE_LIMITED_KEY, env.PAYCORE_LIMITED_URL);
  let limitedError;
  for (let call = 0; call < 10 && !limitedError; call += 1) {
    try {
      await limited.customers.list();
    } catch (error) {
      limitedError = error;
    }
  }
  assert.ok(limitedError instanceof Stripe.errors.StripeRateLimitError, String(limitedError));
  assert.equal(limitedError.statusCode, 429);
});

test("checkout fulfillment: line items' price objects and the buyer's customer_details", async () => {
  const stripe = sdk();
  const customer = await stripe.customers.create({ email: "node@fulfil.test", name: "Node Buyer" });
  const product = await stripe.products.create({ name: "Kite" });
  const price = await stripe.prices.create({ product: product.id, unit_amount: 900, currency: "usd" });
  const session = await stripe.checkout.sessions.create({
    mode: "payment",
    customer: customer.id,
    line_items: [
      { price: price.id, quantity: 1 },
      { price_data: { currency: "usd", unit_amount: 400, product_data: { name: "String" } }, quantity: 2 },
    ],
    success_url: "https://shop.example/ok",
  });
  assert.equal(session.customer_details, null);
  const lines = await stripe.checkout.sessions.listLineItems(session.id);
  assert.deepEqual(
    lines.data.map((item) => [item.price.object, item.price.unit_amount, item.price.active]),
    [["price", 900, true], ["price", 400, false]],
  );
  assert.equal(lines.data[0].price.id, price.id);
  assert.equal(lines.data[0].price.product, product.id);
  // The price_data line's inline price and product_data's product are objects of their own.
  const inline = await stripe.prices.retrieve(lines.data[1].price.id);
  assert.deepEqual([inline.unit_amount, inline.active, inline.type], [400, false, "one_time"]);
  const made = await stripe.products.retrieve(inline.product);
  assert.deepEqual([made.name, made.active], ["String", false]);
  // Session.modify: the metadata alone.
  const tagged = await stripe.checkout.sessions.update(session.id, { metadata: { order: "n-1" } });
  assert.deepEqual(tagged.metadata, { order: "n-1" });
  const paid = await stripe.paymentIntents.confirm(session.payment_intent, {
    payment_method: (await card(stripe)).id,
  });
  assert.equal(paid.status, "succeeded");
  const complete = await stripe.checkout.sessions.retrieve(session.id, { expand: ["line_items"] });
  assert.equal(complete.status, "complete");
  assert.equal(complete.customer_details.email, "node@fulfil.test");
  assert.equal(complete.customer_details.name, "Node Buyer");
  assert.equal(complete.line_items.data[1].price.id.startsWith("price_"), true);
});
