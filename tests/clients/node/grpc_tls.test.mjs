// The Node gRPC service of grpc.test.mjs over mutual TLS, as an internal service in another
// language reaches a port that requires client certificates: trusting paycore's CA
// (PAYCORE_GRPC_CA_FILE), presenting its own certificate (PAYCORE_GRPC_CERT_FILE and _KEY_FILE),
// and reading a refused request's rich error (the google.rpc.Status of its
// grpc-status-details-bin trailer: ErrorInfo's reason and param, BadRequest's field violation)
// with the googleapis protos. tests/clients/test_node.py runs it against a server with mTLS.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";
import protobuf from "protobufjs";

const env = process.env;
const includeDirs = [env.PAYCORE_PROTO_ROOT, ...env.PAYCORE_PROTO_INCLUDES.split(":")];
const definition = protoLoader.loadSync(["paycore/v1/customer.proto"], {
  includeDirs,
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
});
const paycore = grpc.loadPackageDefinition(definition).paycore.v1;

function credentials(withCertificate) {
  const read = (name) => fs.readFileSync(env[name]);
  return withCertificate
    ? grpc.credentials.createSsl(
        read("PAYCORE_GRPC_CA_FILE"),
        read("PAYCORE_GRPC_KEY_FILE"),
        read("PAYCORE_GRPC_CERT_FILE"),
      )
    : grpc.credentials.createSsl(read("PAYCORE_GRPC_CA_FILE"));
}

// google.rpc.Status and its details, from googleapis-common-protos' .proto files.
const rpc = new protobuf.Root();
rpc.resolvePath = (_, target) =>
  includeDirs.map((dir) => path.join(dir, target)).find((file) => fs.existsSync(file)) ?? target;
rpc.loadSync(["google/rpc/status.proto", "google/rpc/error_details.proto"], { keepCase: true });

function richError(error) {
  const [encoded] = error.metadata.get("grpc-status-details-bin");
  assert.ok(encoded, "the error carries grpc-status-details-bin");
  const status = rpc.lookupType("google.rpc.Status").decode(encoded);
  const details = {};
  for (const any of status.details) {
    const name = any.type_url.split("/").pop();
    const type = rpc.lookupType(name);
    details[name] = type.toObject(type.decode(any.value));
  }
  return { code: status.code, message: status.message, details };
}

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

test("over mTLS: an idempotent create, and a bad request's rich error", async () => {
  const customers = new paycore.CustomerService(env.PAYCORE_GRPC_TARGET, credentials(true));
  const key = randomUUID();
  const customer = await call(customers, "CreateCustomer", { email: "tls@example.com" }, key);
  assert.match(customer.id, /^cus_/);
  const again = await call(customers, "CreateCustomer", { email: "tls@example.com" }, key);
  assert.equal(again.id, customer.id);

  await assert.rejects(
    call(customers, "CreateCustomer", { email: "not an address" }, randomUUID()),
    (error) => {
      assert.equal(error.code, grpc.status.INVALID_ARGUMENT);
      const rich = richError(error);
      assert.equal(rich.code, grpc.status.INVALID_ARGUMENT);
      const info = rich.details["google.rpc.ErrorInfo"];
      assert.equal(info.domain, "paycore");
      assert.equal(info.reason, "PARAMETER_INVALID");
      assert.equal(info.metadata.param, "email");
      const [violation] = rich.details["google.rpc.BadRequest"].field_violations;
      assert.equal(violation.field, "email");
      return true;
    },
  );
  customers.close();
});

test("without a client certificate the handshake is refused at once, never a hang", async () => {
  const customers = new paycore.CustomerService(env.PAYCORE_GRPC_TARGET, credentials(false));
  const started = Date.now();
  await assert.rejects(
    call(customers, "CreateCustomer", { email: "tls@example.com" }, randomUUID()),
    (error) => {
      assert.equal(error.code, grpc.status.UNAVAILABLE);
      return true;
    },
  );
  assert.ok(Date.now() - started < 5_000);
  customers.close();
});
