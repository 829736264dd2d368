"""Server interceptors, outermost first: metrics, request log, errors, request size, headers,
authentication, idempotency key, rate limit. Each wraps the unary behaviour of paycore's
methods; `InterceptorChain` runs them as one."""

from paycore.runtime.interceptors.authentication import AuthenticationInterceptor
from paycore.runtime.interceptors.base import InterceptorChain, PolicyInterceptor
from paycore.runtime.interceptors.errors import ErrorInterceptor
from paycore.runtime.interceptors.headers import HeaderInterceptor
from paycore.runtime.interceptors.idempotency import IdempotencyKeyInterceptor
from paycore.runtime.interceptors.metrics import MetricsInterceptor
from paycore.runtime.interceptors.ratelimit import RateLimitInterceptor
from paycore.runtime.interceptors.request_log import RequestLogInterceptor
from paycore.runtime.interceptors.size import RequestSizeInterceptor

__all__ = [
    "AuthenticationInterceptor",
    "ErrorInterceptor",
    "HeaderInterceptor",
    "IdempotencyKeyInterceptor",
    "InterceptorChain",
    "MetricsInterceptor",
    "PolicyInterceptor",
    "RateLimitInterceptor",
    "RequestLogInterceptor",
    "RequestSizeInterceptor",
]
