"""The contract's rules (docs/api.md, common.proto), checked over every paycore.v1 proto file.

The checks read the compiled file descriptors of the generated `paycore.v1.*_pb2` modules, so
they see exactly what servers, the REST edge and clients see. Each test collects every breach of
its rule and asserts that the list is empty, so one run names all offenders at once.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterator, Mapping

from google.api import annotations_pb2, http_pb2
from google.protobuf.descriptor import (
    Descriptor,
    EnumDescriptor,
    FieldDescriptor,
    FileDescriptor,
    MethodDescriptor,
)
from paycore import v1
from paycore.v1 import common_pb2

# The services and methods docs/api.md names (the contract may add more, never fewer).
API_METHODS: dict[str, frozenset[str]] = {
    "AccountService": frozenset(
        {"CreateMerchant", "GetMerchant", "CreateSellerAccount", "CreateApiKey", "RevokeApiKey"}
    ),
    "CustomerService": frozenset(
        {
            "CreateCustomer",
            "GetCustomer",
            "ListCustomers",
            "CreatePaymentMethod",
            "AttachPaymentMethod",
        }
    ),
    "PaymentService": frozenset(
        {
            "CreatePayment",
            "GetPayment",
            "GetPaymentOrder",
            "CreatePaymentIntent",
            "ConfirmPaymentIntent",
            "UpdatePaymentIntent",
            "CapturePaymentIntent",
            "CancelPaymentIntent",
            "GetPaymentIntent",
            "ListPaymentIntents",
            "CreateRefund",
            "GetRefund",
            "ListRefunds",
            "UpdateRefund",
        }
    ),
    "ExecutorService": frozenset(
        {"ExecutePaymentOrder", "GetExecution", "ListDeadLetters", "RequeueDeadLetter"}
    ),
    "FraudService": frozenset(
        {
            "ScorePayment",
            "ReportOutcome",
            "AddBlocklistItem",
            "RemoveBlocklistItem",
            "ListReviews",
            "ApproveReview",
            "RejectReview",
        }
    ),
    "WalletService": frozenset({"GetBalance", "ListBalanceTransactions"}),
    "LedgerService": frozenset(
        {
            "CreateAccount",
            "GetAccount",
            "PostTransfers",
            "GetTransfer",
            "ListEntries",
            "CheckIntegrity",
        }
    ),
    "PayoutService": frozenset(
        {
            "CreateBankAccount",
            "CreatePayout",
            "GetPayout",
            "ListPayouts",
            "CancelPayout",
            "UpdatePayout",
            "UpdatePayoutSchedule",
        }
    ),
    "SubscriptionService": frozenset(
        {
            "CreateProduct",
            "CreatePrice",
            "CreateSubscription",
            "UpdateSubscription",
            "CancelSubscription",
            "GetInvoice",
            "ListInvoices",
            "PayInvoice",
            "VoidInvoice",
            "CreateTestClock",
            "AdvanceTestClock",
        }
    ),
    "EventService": frozenset({"ListEvents", "GetEvent", "CreateWebhookEndpoint"}),
    "ReconciliationService": frozenset({"RunReconciliation", "ListDiscrepancies"}),
}

# The routes docs/api.md spells out, as (verb, path template).
API_ROUTES: dict[str, tuple[str, str]] = {
    "AccountService.CreateMerchant": ("post", "/v1/merchants"),
    "AccountService.GetMerchant": ("get", "/v1/merchants/{id}"),
    "AccountService.CreateSellerAccount": ("post", "/v1/accounts"),
    "CustomerService.CreateCustomer": ("post", "/v1/customers"),
    "CustomerService.CreatePaymentMethod": ("post", "/v1/payment_methods"),
    "CustomerService.AttachPaymentMethod": ("post", "/v1/payment_methods/{id}/attach"),
    "PaymentService.CreatePayment": ("post", "/v1/payments"),
    "PaymentService.GetPayment": ("get", "/v1/payments/{id}"),
    "PaymentService.GetPaymentOrder": ("get", "/v1/payment_orders/{id}"),
    "PaymentService.CreatePaymentIntent": ("post", "/v1/payment_intents"),
    "PaymentService.UpdatePaymentIntent": ("post", "/v1/payment_intents/{id}"),
    "PaymentService.ConfirmPaymentIntent": ("post", "/v1/payment_intents/{id}/confirm"),
    "PaymentService.CapturePaymentIntent": ("post", "/v1/payment_intents/{id}/capture"),
    "PaymentService.CancelPaymentIntent": ("post", "/v1/payment_intents/{id}/cancel"),
    "PaymentService.GetPaymentIntent": ("get", "/v1/payment_intents/{id}"),
    "PaymentService.ListPaymentIntents": ("get", "/v1/payment_intents"),
    "PaymentService.CreateRefund": ("post", "/v1/refunds"),
    "PaymentService.UpdateRefund": ("post", "/v1/refunds/{id}"),
    "WalletService.GetBalance": ("get", "/v1/balance"),
    "WalletService.ListBalanceTransactions": ("get", "/v1/balance_transactions"),
    "PayoutService.CreateBankAccount": ("post", "/v1/bank_accounts"),
    "PayoutService.CreatePayout": ("post", "/v1/payouts"),
    "PayoutService.UpdatePayout": ("post", "/v1/payouts/{id}"),
    "DisputeService.GetDispute": ("get", "/v1/disputes/{id}"),
    "DisputeService.ListDisputes": ("get", "/v1/disputes"),
    "DisputeService.UpdateDispute": ("post", "/v1/disputes/{id}"),
    "DisputeService.CloseDispute": ("post", "/v1/disputes/{id}/close"),
    "SubscriptionService.CreateSubscription": ("post", "/v1/subscriptions"),
}

# What a restricted key's scope may name: "<resource>:read" or "<resource>:write".
SCOPE_RESOURCES = frozenset(
    {
        "accounts",
        "api_keys",
        "exchange_rates",
        "customers",
        "setup_intents",
        "payment_methods",
        "payments",
        "payment_intents",
        "charges",
        "refunds",
        "balance",
        "payouts",
        "transfers",
        "application_fees",
        "bank_accounts",
        "disputes",
        "subscriptions",
        "invoices",
        "products",
        "prices",
        "test_clocks",
        "events",
        "webhook_endpoints",
        "fraud",
        "checkout_sessions",
        "coupons",
    }
)
SCOPE = re.compile(r"(?P<resource>[a-z_]+):(?P<action>read|write)")

MERCHANT_ACCESS = frozenset({common_pb2.ACCESS_SECRET, common_pb2.ACCESS_PUBLISHABLE})
INTERNAL_SERVICES = frozenset({"ExecutorService", "LedgerService", "ReconciliationService"})
# A browser confirms a payment or a setup with the publishable key and the client_secret.
PUBLISHABLE_METHODS = frozenset(
    {
        "CustomerService.CreatePaymentMethod",
        "PaymentService.ConfirmPaymentIntent",
        "PaymentService.GetPaymentIntent",
        "PaymentService.ConfirmSetupIntent",
        "PaymentService.GetSetupIntent",
    }
)
RATE_CLASS_OF_SERVICE = {
    "PaymentService": common_pb2.RATE_CLASS_PAYMENTS,
    "CheckoutService": common_pb2.RATE_CLASS_PAYMENTS,
    "SubscriptionService": common_pb2.RATE_CLASS_SUBSCRIPTIONS,
}
BODY_VERBS = frozenset({"post", "put", "patch"})
ROUTE_VARIABLE = re.compile(r"\{([a-z_][a-z0-9_.]*)(?:=[^}]*)?\}")


def _load_files() -> list[FileDescriptor]:
    names = sorted(
        module.name for module in pkgutil.iter_modules(v1.__path__) if module.name.endswith("_pb2")
    )
    return [importlib.import_module(f"paycore.v1.{name}").DESCRIPTOR for name in names]


FILES = _load_files()
METHODS: list[MethodDescriptor] = [
    method
    for file in FILES
    for service in file.services_by_name.values()
    for method in service.methods
]


def _name(method: MethodDescriptor) -> str:
    """ "PaymentService.CreatePayment": short, and unique within the package."""
    return f"{method.containing_service.name}.{method.name}"


def _policy(method: MethodDescriptor) -> common_pb2.MethodPolicy | None:
    options = method.GetOptions()
    if not options.HasExtension(common_pb2.policy):
        return None
    return options.Extensions[common_pb2.policy]


def _http_rule(method: MethodDescriptor) -> http_pb2.HttpRule | None:
    options = method.GetOptions()
    if not options.HasExtension(annotations_pb2.http):
        return None
    rule: http_pb2.HttpRule = options.Extensions[annotations_pb2.http]
    return rule


def _route(rule: http_pb2.HttpRule) -> tuple[str, str]:
    """(verb, path template) of a rule: ("get", "/v1/payments/{id}")."""
    verb = rule.WhichOneof("pattern")
    if verb is None:
        return ("", "")
    if verb == "custom":
        return (rule.custom.kind.lower(), rule.custom.path)
    path: str = getattr(rule, verb)
    return (verb, path)


def _messages() -> Iterator[Descriptor]:
    """Every message of every file, nested ones included (map entries too)."""

    def walk(message: Descriptor) -> Iterator[Descriptor]:
        yield message
        for nested in message.nested_types:
            yield from walk(nested)

    for file in FILES:
        for message in file.message_types_by_name.values():
            yield from walk(message)


def _enums() -> Iterator[EnumDescriptor]:
    for file in FILES:
        yield from file.enum_types_by_name.values()
    for message in _messages():
        yield from message.enum_types


def _is_request_or_response(message: Descriptor) -> bool:
    """A method's input or output wrapper, or a message nested in one."""
    current: Descriptor | None = message
    while current is not None:
        if current.name.endswith(("Request", "Response")):
            return True
        current = current.containing_type
    return False


def _objects() -> Iterator[Descriptor]:
    """API objects and their parts: everything but request/response wrappers and map entries."""
    for message in _messages():
        if not message.GetOptions().map_entry and not _is_request_or_response(message):
            yield message


def _upper_snake(camel: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", camel).upper()


def test_every_service_and_method_api_md_names_exists() -> None:
    defined: dict[str, set[str]] = {}
    for method in METHODS:
        defined.setdefault(method.containing_service.name, set()).add(method.name)
    missing = [
        f"{service}.{method}"
        for service, methods in API_METHODS.items()
        for method in sorted(methods - defined.get(service, set()))
    ]
    assert not missing, "\n".join(missing)


def test_routes_api_md_spells_out_are_kept() -> None:
    routes = {
        _name(method): _route(rule)
        for method in METHODS
        if (rule := _http_rule(method)) is not None
    }
    wrong = {
        method: (routes.get(method), route)
        for method, route in API_ROUTES.items()
        if routes.get(method) != route
    }
    assert not wrong, "\n".join(
        f"{method}: found {found}, expected {route}" for method, (found, route) in wrong.items()
    )


def test_every_method_declares_who_may_call_it_and_its_rate_class() -> None:
    problems = []
    for method in METHODS:
        policy = _policy(method)
        if policy is None:
            problems.append(f"{_name(method)}: no (paycore.v1.policy) option")
            continue
        if policy.access == common_pb2.ACCESS_UNSPECIFIED:
            problems.append(f"{_name(method)}: access unspecified")
        if policy.rate_class == common_pb2.RATE_CLASS_UNSPECIFIED:
            problems.append(f"{_name(method)}: rate_class unspecified")
    assert not problems, "\n".join(problems)


def test_merchant_methods_have_a_route_and_a_scope() -> None:
    problems = []
    for method in METHODS:
        policy = _policy(method)
        if policy is None or policy.access not in MERCHANT_ACCESS:
            continue
        if _http_rule(method) is None:
            problems.append(f"{_name(method)}: no google.api.http route")
        match = SCOPE.fullmatch(policy.scope)
        if match is None:
            problems.append(f"{_name(method)}: scope {policy.scope!r} is not <resource>:read|write")
        elif match["resource"] not in SCOPE_RESOURCES:
            problems.append(f"{_name(method)}: scope names unknown resource {match['resource']!r}")
    assert not problems, "\n".join(problems)


def test_scopes_say_read_for_reads_and_write_for_changes() -> None:
    problems = []
    for method in METHODS:
        policy = _policy(method)
        if policy is None:
            continue
        if policy.access not in MERCHANT_ACCESS:
            if policy.scope:
                problems.append(f"{_name(method)}: scope on a method merchant keys cannot call")
            continue
        expected = "write" if policy.mutating else "read"
        if not policy.scope.endswith(f":{expected}"):
            problems.append(f"{_name(method)}: mutating={policy.mutating}, scope {policy.scope!r}")
    assert not problems, "\n".join(problems)


def test_access_is_as_narrow_as_the_contract_says() -> None:
    problems = []
    for method in METHODS:
        policy = _policy(method)
        if policy is None:
            continue
        publishable = policy.access == common_pb2.ACCESS_PUBLISHABLE
        if publishable != (_name(method) in PUBLISHABLE_METHODS):
            problems.append(f"{_name(method)}: publishable keys allowed={publishable}")
        internal = method.containing_service.name in INTERNAL_SERVICES
        if internal and policy.access != common_pb2.ACCESS_INTERNAL:
            problems.append(f"{_name(method)}: internal service method is not ACCESS_INTERNAL")
    assert not problems, "\n".join(problems)


def test_rate_classes_follow_the_service() -> None:
    problems = []
    for method in METHODS:
        policy = _policy(method)
        if policy is None:
            continue
        expected = RATE_CLASS_OF_SERVICE.get(
            method.containing_service.name, common_pb2.RATE_CLASS_OTHER
        )
        if policy.rate_class != expected:
            found, want = map(common_pb2.RateClass.Name, (policy.rate_class, expected))
            problems.append(f"{_name(method)}: {found}, expected {want}")
    assert not problems, "\n".join(problems)


# Reads Stripe routes with POST (its request is a body of nested parameters): Stripe's
# Invoice.create_preview, POST /v1/invoices/create_preview, which stores nothing.
POST_READS = frozenset({"SubscriptionService.CreateInvoicePreview"})


def test_reads_use_get_and_changes_never_do() -> None:
    problems = []
    for method in METHODS:
        policy, rule = _policy(method), _http_rule(method)
        if policy is None or rule is None:
            continue
        verb, _ = _route(rule)
        if policy.mutating and verb == "get":
            problems.append(f"{_name(method)}: mutating method routed with GET")
        if not policy.mutating and verb != "get" and _name(method) not in POST_READS:
            problems.append(f"{_name(method)}: read-only method routed with {verb.upper()}")
        if verb in BODY_VERBS and rule.body != "*":
            problems.append(f'{_name(method)}: {verb.upper()} without body: "*"')
        if verb not in BODY_VERBS and rule.body:
            problems.append(f"{_name(method)}: {verb.upper()} with a body")
    assert not problems, "\n".join(problems)


def test_routes_are_unique_and_their_variables_are_request_fields() -> None:
    problems = []
    owners: dict[tuple[str, str], str] = {}
    for method in METHODS:
        rule = _http_rule(method)
        if rule is None:
            continue
        verb, path = _route(rule)
        if not path.startswith("/v1/"):
            problems.append(f"{_name(method)}: path {path!r} outside /v1/")
        # {id} and {id=...} are the same route to a transcoder.
        route = (verb, ROUTE_VARIABLE.sub("{}", path))
        if route in owners:
            problems.append(f"{_name(method)}: {verb.upper()} {path} also routes {owners[route]}")
        owners[route] = _name(method)
        for variable in ROUTE_VARIABLE.findall(path):
            if variable not in method.input_type.fields_by_name:
                problems.append(f"{_name(method)}: {{{variable}}} is not a request field")
    assert not problems, "\n".join(problems)


# A method whose request's name another service's method holds already (one proto package):
# PayoutService.GetTransfer (a tr_, Stripe's transfer) beside LedgerService.GetTransfer (lt_).
REQUESTS_NAMED_OTHERWISE = {"PayoutService.GetTransfer": "RetrieveTransferRequest"}


def test_requests_are_named_after_their_method() -> None:
    wrong = [
        f"{_name(method)} takes {method.input_type.name}"
        for method in METHODS
        if method.input_type.name
        != REQUESTS_NAMED_OTHERWISE.get(_name(method), f"{method.name}Request")
    ]
    assert not wrong, "\n".join(wrong)


def test_list_methods_page_as_stripe_does() -> None:
    problems = []
    for method in METHODS:
        if not method.name.startswith("List"):
            continue
        request, response = method.input_type.fields_by_name, method.output_type.fields_by_name
        expected: list[tuple[Mapping[str, FieldDescriptor], str, int, bool]] = [
            (request, "limit", FieldDescriptor.TYPE_INT32, False),
            (request, "starting_after", FieldDescriptor.TYPE_STRING, False),
            (response, "data", FieldDescriptor.TYPE_MESSAGE, True),
            (response, "has_more", FieldDescriptor.TYPE_BOOL, False),
        ]
        for fields, name, field_type, repeated in expected:
            field = fields.get(name)
            if field is None:
                problems.append(f"{_name(method)}: no {name}")
            elif field.type != field_type or field.is_repeated != repeated:
                problems.append(f"{_name(method)}: {name} has the wrong type")
    assert not problems, "\n".join(problems)


def test_every_enum_is_prefixed_and_starts_unspecified() -> None:
    problems = []
    for enum in _enums():
        prefix = _upper_snake(enum.name) + "_"
        zero = enum.values_by_number.get(0)
        if zero is None or zero.name != f"{prefix}UNSPECIFIED":
            problems.append(f"{enum.full_name}: zero value is not {prefix}UNSPECIFIED")
        problems += [
            f"{enum.full_name}: {value.name} lacks the prefix {prefix}"
            for value in enum.values
            if not value.name.startswith(prefix)
        ]
    assert not problems, "\n".join(problems)


def test_no_field_is_a_float() -> None:
    floats = [
        f"{field.full_name}: float or double (money and scores are integers)"
        for message in _messages()
        for field in message.fields
        if field.type in (FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE)
    ]
    assert not floats, "\n".join(floats)


def test_amounts_are_int64_minor_units_beside_a_currency() -> None:
    problems = []
    for message in _messages():
        for field in message.fields:
            parts = field.name.split("_")
            # `<x>_amount_currency` (Stripe's minimum_amount_currency) is an amount's currency.
            is_amount = "amount" in parts and parts[-1] != "currency"
            if is_amount and field.type != FieldDescriptor.TYPE_INT64:
                problems.append(f"{field.full_name}: an amount that is not int64")
    for message in _objects():
        fields = message.fields_by_name
        if "amount" in fields and "currency" not in fields:
            problems.append(f"{message.full_name}: amount without currency")
    assert not problems, "\n".join(problems)


def test_objects_with_an_id_have_created() -> None:
    problems = []
    for message in _objects():
        fields = message.fields_by_name
        if "id" not in fields:
            continue
        if fields["id"].type != FieldDescriptor.TYPE_STRING:
            problems.append(f"{message.full_name}: id is not a string")
        created = fields.get("created")
        if created is None or created.type != FieldDescriptor.TYPE_INT64:
            problems.append(f"{message.full_name}: no int64 created (unix seconds)")
    assert not problems, "\n".join(problems)
