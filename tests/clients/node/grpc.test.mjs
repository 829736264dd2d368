// An internal service in another language: Node with @grpc/grpc-js and @grpc/proto-loader,
// loading the .proto files the paycore wheel ships (paycore/protos/), creates a customer and a
// confirmed payment intent over gRPC with idempotency keys, and reads the typed answer.
// tests/clients/test_node.py runs it with PAYCORE_GRPC_TARGET, PAYCORE_SECRET_KEY,
// PAYCORE_PROTO_ROOT (the wheel's protos) and PAYCORE_PROTO_INCLUDES (google/api, well-known).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";

const env = process.env;
const definition = protoLoader.loadSync(
  ["paycore/v1/customer.proto", "paycore/v1/payment.proto"],
  {
    includeDirs: [env.PAYCORE_PROTO_ROOT, ...env.PAYCORE_PROTO_INCLUDES.split(":")],
    keepCase: true, // proto field names, as the Python client and the edge use
    longs: Number, // int64 amounts as numbers (safe below 2^53)
    enums: String,
    defaults: true,
  },
);
const paycore = grpc.loadPackageDefinition(definition).paycore.v1;
const credentials = grpc.credentials.createInsecure();
const customers = new paycore.CustomerService(env.PAYCORE_GRPC_TARGET, credentials);
const payments = new paycore.PaymentService(env.PAYCORE_GRPC_TARGET, credentials);

function call(client, method, request, idempotencyKey) {
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Bearer ${env.PAYCORE_SECRET_KEY}`);
  if (idempotencyKey) metadata.set("idempotency-key", idempotencyKey);
  const deadline = new Date(Date.now() + 10_000);
  return new Promise((resolve, reject) => {
    client[method](request, metadata, { deadline }, (error, response) =>
      error ? reject(error) : resolve(response),
    );
  });
}

test("a customer and a confirmed payment intent over gRPC, with idempotency keys", async () => {
  const customerKey = randomUUID();
  const customer = await call(customers, "CreateCustomer", { email: "node@example.com" }, customerKey);
  assert.match(customer.id, /^cus_/);
  const replayed = await call(customers, "CreateCustomer", { email: "node@example.com" }, customerKey);
  assert.equal(replayed.id, customer.id);

  const method = await call(
    customers,
    "CreatePaymentMethod",
    {
      type: "PAYMENT_METHOD_TYPE_CARD",
      card: { number: "4242424242424242", exp_month: 12, exp_year: 2034, cvc: "123" },
    },
    randomUUID(),
  );
  await call(customers, "AttachPaymentMethod", { id: method.id, customer: customer.id }, randomUUID());

  const intentKey = randomUUID();
  const request = {
    amount: 2500,
    currency: "usd",
    customer: customer.id,
    payment_method: method.id,
    confirm: true,
  };
  const intent = await call(payments, "CreatePaymentIntent", request, intentKey);
  assert.equal(intent.status, "PAYMENT_INTENT_STATUS_SUCCEEDED");
  assert.equal(intent.amount_received, 2500);
  const again = await call(payments, "CreatePaymentIntent", request, intentKey);
  assert.equal(again.id, intent.id); // the stored answer, not a second charge

  await assert.rejects(
    call(payments, "CreatePaymentIntent", { ...request, amount: 2501 }, intentKey),
    (error) => {
      assert.equal(error.code, grpc.status.FAILED_PRECONDITION); // IDEMPOTENCY_KEY_REUSED
      return true;
    },
  );
  await assert.rejects(call(payments, "CreatePaymentIntent", { ...request, amount: 0 }, randomUUID()), (error) => {
    assert.equal(error.code, grpc.status.INVALID_ARGUMENT);
    return true;
  });
});
