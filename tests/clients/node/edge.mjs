// stripe-node pointed at paycore's REST edge: `new Stripe(key, {host, port, protocol})`, as a
// merchant's Node server configures it. Shared by the *.test.mjs files.
import Stripe from "stripe";

export function edgeStripe(key, url = process.env.PAYCORE_EDGE_URL, options = {}) {
  const { hostname, port, protocol } = new URL(url);
  return new Stripe(key, {
    host: hostname,
    port: Number(port),
    protocol: protocol.replace(":", ""),
    ...options,
  });
}
