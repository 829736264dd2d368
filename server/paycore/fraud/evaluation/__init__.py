"""The hand-written evaluation set: payments a risk analyst decided, never used for training."""
