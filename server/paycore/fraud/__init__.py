"""FraudService: risk scoring (velocity counters, blocklists, declarative rules, a trained
model), outcome labels, manual reviews. docs/fraud.md describes it."""
