// Stripe's own Node quickstart snippets, as its documentation writes them, run against
// paycore's REST edge with stripe-node: `new Stripe(key, {host, port, protocol})`, `await
// stripe.<resource>.<method>(params, options)`, errors told apart by `error.type`, lists read
// with `for await`. The guides of tests/clients/test_stripe_quickstarts.py (stripe-python), and
// what stripe-node sends that stripe-python does not: `null` as an empty value (`name=`), an
// Idempotency-Key of its own on every POST, two retries with backoff by default, a DELETE's
// parameters and `expand` in the query string. tests/clients/test_node.py runs it with a new
// merchant per test: PAYCORE_QUICKSTART_KEYS holds their secret keys, one per test, in order.
import assert from "node:assert/strict";
import { test } from "node:test";
import { edgeStripe } from "./edge.mjs";

const env = process.env;
const keys = env.PAYCORE_QUICKSTART_KEYS.split(",");

// The client the guides start with, pointed at the edge; everything else as the SDK defaults it
// (two network retries, an Idempotency-Key of its own on every POST).
function newStripe() {
  return edgeStripe(keys.shift());
}

test("accept a payment (docs.stripe.com/payments/accept-a-payment)", async () => {
  const stripe = newStripe();
  const paymentIntent = await stripe.paymentIntents.create({
    amount: 2000,
    currency: "usd",
    automatic_payment_methods: { enabled: true, allow_redirects: "never" },
    payment_method: "pm_card_visa",
    confirm: true,
    metadata: { order_id: "6735" },
  });
  assert.deepEqual(
    [paymentIntent.status, paymentIntent.amount_received, paymentIntent.metadata],
    ["succeeded", 2000, { order_id: "6735" }],
  );

  const later = await stripe.paymentIntents.create({
    amount: 1099,
    currency: "usd",
    automatic_payment_methods: { enabled: true },
  });
  assert.equal(later.status, "requires_payment_method");
  const confirmed = await stripe.paymentIntents.confirm(later.id, {
    payment_method: "pm_card_visa",
    return_url: "https://www.example.com",
  });
  assert.equal(confirmed.status, "succeeded");

  const paymentIntents = await stripe.paymentIntents.list({ limit: 3 });
  assert.deepEqual(
    paymentIntents.data.map((intent) => intent.id),
    [later.id, paymentIntent.id],
  );

  const refund = await stripe.refunds.create({
    payment_intent: paymentIntent.id,
    amount: 500,
    reason: "requested_by_customer",
  });
  assert.deepEqual([refund.amount, refund.payment_intent], [500, paymentIntent.id]);
  const refunded = await stripe.paymentIntents.retrieve(paymentIntent.id);
  assert.equal(refunded.amount_refunded, 500);
});

test("a declined card (docs.stripe.com/error-handling)", async () => {
  const stripe = newStripe();
  let caught;
  try {
    await stripe.paymentIntents.create({
      amount: 2000,
      currency: "usd",
      payment_method: "pm_card_chargeDeclined",
      confirm: true,
    });
  } catch (error) {
    caught = error;
  }
  assert.ok(caught, "the decline was not thrown");
  switch (caught.type) {
    case "StripeCardError":
      assert.equal(caught.statusCode, 402);
      assert.deepEqual([caught.code, caught.decline_code], ["card_declined", "generic_decline"]);
      assert.ok(caught.message);
      break;
    default:
      assert.fail(`expected a StripeCardError, got ${caught.type}: ${caught.message}`);
  }
  const paymentIntent = await stripe.paymentIntents.retrieve(caught.raw.payment_intent.id);
  assert.equal(paymentIntent.status, "requires_payment_method");
  assert.equal(paymentIntent.last_payment_error.code, "card_declined");
});

test("place a hold (docs.stripe.com/payments/place-a-hold-on-a-payment-method)", async () => {
  const stripe = newStripe();
  const hold = () =>
    stripe.paymentIntents.create({
      amount: 1099,
      currency: "usd",
      payment_method: "pm_card_visa",
      capture_method: "manual",
      confirm: true,
    });
  const paymentIntent = await hold();
  assert.deepEqual([paymentIntent.status, paymentIntent.amount_capturable], ["requires_capture", 1099]);
  const captured = await stripe.paymentIntents.capture(paymentIntent.id, { amount_to_capture: 750 });
  assert.deepEqual([captured.status, captured.amount_received], ["succeeded", 750]);
  const canceled = await stripe.paymentIntents.cancel((await hold()).id);
  assert.equal(canceled.status, "canceled");
});

test("save a card and charge it later (docs.stripe.com/payments/save-and-reuse)", async () => {
  const stripe = newStripe();
  const customer = await stripe.customers.create({
    email: "jenny.rosen@example.com",
    name: "Jenny Rosen",
    address: {
      line1: "510 Townsend St",
      postal_code: "98140",
      city: "San Francisco",
      state: "CA",
      country: "US",
    },
  });
  assert.equal(customer.address.city, "San Francisco");
  await stripe.paymentMethods.attach("pm_card_visa", { customer: customer.id });
  const paymentMethods = await stripe.paymentMethods.list({ customer: customer.id, type: "card" });
  const [paymentMethod] = paymentMethods.data;
  assert.deepEqual([paymentMethod.card.brand, paymentMethod.card.last4], ["visa", "4242"]);

  const updated = await stripe.customers.update(customer.id, {
    invoice_settings: { default_payment_method: paymentMethod.id },
  });
  assert.equal(updated.invoice_settings.default_payment_method, paymentMethod.id);
  const tagged = await stripe.customers.update(customer.id, {
    metadata: { vip: "yes", referrer: "" },
  });
  assert.deepEqual(tagged.metadata, { vip: "yes" });
  const unset = await stripe.customers.update(customer.id, { metadata: { vip: "" } });
  assert.deepEqual(unset.metadata, {});
  await stripe.customers.update(customer.id, { metadata: { a: "1", b: "2" } });
  const wiped = await stripe.customers.update(customer.id, { metadata: null }); // sent as metadata=
  assert.deepEqual(wiped.metadata, {});
  const cleared = await stripe.customers.update(customer.id, { name: null }); // sent as name=
  assert.deepEqual([customer.name, cleared.name], ["Jenny Rosen", null]);

  // The guide wraps this in a try/catch for cards that ask to authenticate (below).
  const paymentIntent = await stripe.paymentIntents.create({
    amount: 1099,
    currency: "usd",
    automatic_payment_methods: { enabled: true },
    customer: customer.id,
    payment_method: paymentMethod.id,
    return_url: "https://example.com/order/123/complete",
    off_session: true,
    confirm: true,
  });
  assert.deepEqual(
    [paymentIntent.status, paymentIntent.customer, paymentIntent.payment_method],
    ["succeeded", customer.id, paymentMethod.id],
  );
  const charged = await stripe.paymentIntents.list({
    customer: customer.id,
    expand: ["data.payment_method"],
  });
  assert.deepEqual(charged.data.map((intent) => intent.payment_method.card.last4), ["4242"]);

  // The guide's catch: a card that must authenticate is declined off-session; the error names
  // the intent to bring the customer back to, and the payment method (its samples show
  // `err.raw.payment_method.card.last4`).
  const mustAuthenticate = await stripe.paymentMethods.attach("pm_card_authenticationRequired", {
    customer: customer.id,
  });
  const err = await stripe.paymentIntents
    .create({
      amount: 1099,
      currency: "usd",
      customer: customer.id,
      payment_method: mustAuthenticate.id,
      off_session: true,
      confirm: true,
    })
    .then(
      () => assert.fail("an off-session charge of a card that must authenticate succeeded"),
      (error) => error,
    );
  assert.deepEqual(
    [err.type, err.statusCode, err.code, err.decline_code],
    ["StripeCardError", 402, "authentication_required", "authentication_required"],
  );
  const paymentIntentRetrieved = await stripe.paymentIntents.retrieve(err.raw.payment_intent.id);
  assert.equal(paymentIntentRetrieved.status, "requires_payment_method");
  assert.equal(err.raw.payment_intent.client_secret, paymentIntentRetrieved.client_secret);
  assert.deepEqual(
    [err.raw.payment_method.id, err.raw.payment_method.card.last4],
    [mustAuthenticate.id, "3184"],
  );
  await stripe.paymentMethods.detach(mustAuthenticate.id);

  const withDefault = await stripe.customers.retrieve(customer.id, {
    expand: ["invoice_settings.default_payment_method"],
  });
  assert.equal(withDefault.invoice_settings.default_payment_method.card.last4, "4242");
  const noDefault = await stripe.customers.update(customer.id, {
    invoice_settings: { default_payment_method: null }, // sent as ...[default_payment_method]=
  });
  assert.equal(noDefault.invoice_settings.default_payment_method, null);
  const detached = await stripe.paymentMethods.detach(paymentMethod.id);
  assert.equal(detached.customer, null); // as Stripe: an unset id is null
  const missing = customer.id.slice(0, -1) + (customer.id.endsWith("A") ? "B" : "A");
  await assert.rejects(stripe.customers.retrieve(missing), (error) => {
    assert.deepEqual(
      [error.type, error.statusCode, error.code],
      ["StripeInvalidRequestError", 404, "resource_missing"],
    );
    return true;
  });
});

test("a subscription (docs.stripe.com/billing/subscriptions/build-subscriptions)", async () => {
  const stripe = newStripe();
  const customer = await stripe.customers.create({
    email: "jenny.rosen@example.com",
    payment_method: "pm_card_visa",
    invoice_settings: { default_payment_method: "pm_card_visa" },
  });
  const defaultMethod = customer.invoice_settings.default_payment_method;
  assert.ok(defaultMethod.startsWith("pm_") && defaultMethod !== "pm_card_visa", defaultMethod);

  const product = await stripe.products.create({ name: "Gold Special" });
  const price = await stripe.prices.create({
    unit_amount: 1200,
    currency: "usd",
    recurring: { interval: "month" },
    product: product.id,
  });
  assert.equal(price.recurring.interval_count, 1);

  const subscription = await stripe.subscriptions.create({
    customer: customer.id,
    items: [{ price: price.id }],
    expand: ["latest_invoice.payment_intent"],
  });
  assert.equal(subscription.status, "active");
  assert.equal(subscription.latest_invoice.payment_intent.payment_method, defaultMethod);
  assert.equal(subscription.latest_invoice.payment_intent.status, "succeeded");

  // Upgrade: the item's price changes, prorated (.../change-price).
  const gold = await stripe.prices.create({
    unit_amount: 2400,
    currency: "usd",
    recurring: { interval: "month" },
    product: product.id,
  });
  const upgraded = await stripe.subscriptions.update(subscription.id, {
    items: [{ id: subscription.items.data[0].id, price: gold.id }],
    proration_behavior: "create_prorations",
  });
  assert.equal(upgraded.items.data[0].price.id, gold.id); // the price object, as Stripe's
  const withPrices = await stripe.subscriptions.retrieve(subscription.id, {
    expand: ["items.data.price"],
  });
  assert.deepEqual(
    [withPrices.items.data[0].price.id, withPrices.items.data[0].price.unit_amount],
    [gold.id, 2400],
  );

  const retrieved = await stripe.subscriptions.retrieve(subscription.id, {
    expand: ["customer", "latest_invoice.payment_intent"],
  });
  assert.equal(retrieved.customer.email, "jenny.rosen@example.com");
  const listed = await stripe.subscriptions.list({ customer: customer.id, expand: ["data.customer"] });
  assert.deepEqual(listed.data.map((found) => found.customer.id), [customer.id]);
  const invoices = await stripe.invoices.list({ subscription: subscription.id, limit: 10 });
  assert.ok(invoices.data.length >= 1);

  const atPeriodEnd = await stripe.subscriptions.update(subscription.id, { cancel_at_period_end: true });
  assert.equal(atPeriodEnd.cancel_at_period_end, true);

  const deleted = await stripe.subscriptions.cancel(subscription.id);
  assert.equal(deleted.status, "canceled");
  const again = await stripe.subscriptions.retrieve(subscription.id);
  assert.equal(again.status, "canceled");
  const canceledOnes = await stripe.subscriptions.list({ customer: customer.id, status: "canceled" });
  assert.deepEqual(canceledOnes.data.map((found) => found.id), [subscription.id]);

  // stripe-node sends a DELETE's parameters (expand too) in the query string.
  const other = await stripe.subscriptions.create({
    customer: customer.id,
    items: [{ price: price.id }],
  });
  const prorated = await stripe.subscriptions.cancel(other.id, {
    prorate: true,
    expand: ["latest_invoice"],
  });
  assert.deepEqual([prorated.status, prorated.latest_invoice.object], ["canceled", "invoice"]);
  const everyInvoice = await stripe.invoices
    .list({ customer: customer.id, limit: 1, expand: ["data.subscription"] })
    .autoPagingToArray({ limit: 100 });
  assert.ok(everyInvoice.length >= 2, String(everyInvoice.length));
  for (const invoice of everyInvoice) assert.equal(invoice.subscription.object, "subscription");
});

test("idempotent requests (docs.stripe.com/api/idempotent_requests)", async () => {
  const stripe = newStripe();
  const createCustomer = () =>
    stripe.customers.create(
      { description: "My First Test Customer (created for API docs)" },
      { idempotencyKey: "KG5LxwFBepaKHyUD" },
    );
  const customer = await createCustomer();
  assert.equal((await createCustomer()).id, customer.id);
  const pay = () =>
    stripe.paymentIntents.create(
      { amount: 2000, currency: "usd", payment_method: "pm_card_visa", confirm: true },
      { idempotencyKey: "order-1234" },
    );
  const paid = await pay();
  const replayed = await pay();
  assert.deepEqual([replayed.id, replayed.payment_method], [paid.id, paid.payment_method]);
  const customers = await stripe.customers.list({ limit: 10 });
  assert.deepEqual(customers.data.map((found) => found.id), [customer.id]);
});

test("auto-pagination (docs.stripe.com/api/pagination/auto)", async () => {
  const stripe = newStripe();
  const created = [];
  for (let index = 0; index < 7; index += 1) {
    created.push((await stripe.customers.create({ email: `customer${index}@example.com` })).id);
  }
  const newestFirst = [...created].reverse();

  const seen = [];
  for await (const customer of stripe.customers.list({ limit: 3 })) {
    seen.push(customer.id);
  }
  assert.deepEqual(seen, newestFirst);

  const array = await stripe.customers.list({ limit: 3 }).autoPagingToArray({ limit: 10000 });
  assert.deepEqual(array.map((customer) => customer.id), newestFirst);

  const each = [];
  await stripe.customers.list({ limit: 2 }).autoPagingEach((customer) => {
    each.push(customer.id);
    return each.length < 5; // returning false stops the iteration
  });
  assert.deepEqual(each, newestFirst.slice(0, 5));

  const byEmail = await stripe.customers.list({ email: "customer3@example.com" });
  assert.deepEqual(byEmail.data.map((customer) => customer.id), [created[3]]);
});
