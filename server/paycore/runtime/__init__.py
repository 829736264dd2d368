"""The gRPC runtime shared by every service: call context, method policies, interceptors,
metrics, health and the server itself."""
