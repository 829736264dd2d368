"""Pay-in: payment intents (authorize/capture/cancel), payments made of payment orders for
several sellers, refunds; each PSP operation runs through the executor."""
