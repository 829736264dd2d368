"""TLS for what paycore serves: the gRPC port and the REST edge, each from a certificate and
key file (PEM); with a client CA, the gRPC port requires client certificates it signed (mTLS,
for a port only internal services reach). Without files, plaintext, as `paycore dev` serves."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import grpc
from paycore.client.tls import Tls
from paycore.config import Settings
from paycore.errors import ConfigurationError

SYSTEM_ROOTS = "system"


@dataclass(frozen=True)
class ServerTls:
    cert_file: Path
    key_file: Path
    client_ca_file: Path | None = None
    """When set, only clients with a certificate this CA signed get through the handshake."""

    def grpc_credentials(self) -> grpc.ServerCredentials:
        client_ca = self.client_ca_file.read_bytes() if self.client_ca_file else None
        return grpc.ssl_server_credentials(
            [(self.key_file.read_bytes(), self.cert_file.read_bytes())],
            root_certificates=client_ca,
            require_client_auth=client_ca is not None,
        )

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.cert_file, self.key_file)
        if self.client_ca_file is not None:
            context.load_verify_locations(self.client_ca_file)
            context.verify_mode = ssl.CERT_REQUIRED
        return context


def server_tls(
    cert_file: str, key_file: str, client_ca_file: str = "", *, what: str
) -> ServerTls | None:
    """None when neither file is given; the files must exist (ConfigurationError naming
    `what`, the settings' prefix, otherwise)."""
    if not cert_file and not key_file:
        if client_ca_file:
            raise ConfigurationError(f"{what}_CLIENT_CA_FILE needs {what}_CERT_FILE and _KEY_FILE")
        return None
    if not cert_file or not key_file:
        raise ConfigurationError(f"{what}_CERT_FILE and {what}_KEY_FILE go together")
    for path in (cert_file, key_file, client_ca_file):
        if path and not Path(path).is_file():
            raise ConfigurationError(f"{what}: no file {path}")
    _check_loads(cert_file, key_file, client_ca_file, what=what)
    return ServerTls(
        Path(cert_file), Path(key_file), Path(client_ca_file) if client_ca_file else None
    )


def _check_loads(cert_file: str, key_file: str, client_ca_file: str, *, what: str) -> None:
    """The files load as a certificate, its own key and a CA (ConfigurationError naming the
    setting otherwise): gRPC's server, given what it cannot load, says only "Failed to bind to
    address", which sends an operator looking for the process holding the port."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_verify_locations(cafile=cert_file)
    except ssl.SSLError as error:
        raise ConfigurationError(f"{what}_CERT_FILE: no PEM certificate in {cert_file}") from error
    try:
        context.load_cert_chain(cert_file, key_file)
    except ssl.SSLError as error:
        raise ConfigurationError(
            f"{what}_KEY_FILE: {key_file} is not the private key of {what}_CERT_FILE"
            f" ({error.reason or error})"
        ) from error
    if client_ca_file:
        try:
            context.load_verify_locations(cafile=client_ca_file)
        except ssl.SSLError as error:
            raise ConfigurationError(
                f"{what}_CLIENT_CA_FILE: no PEM certificate in {client_ca_file}"
            ) from error


def grpc_server_tls(settings: Settings, *, internal_port: bool) -> ServerTls | None:
    """A gRPC port's TLS: the client CA (mTLS) applies to the port that serves the internal
    services (the internal port, or the one port when there is no other); merchants reach the
    public port with API keys, not certificates."""
    return server_tls(
        settings.grpc_tls_cert_file,
        settings.grpc_tls_key_file,
        settings.grpc_tls_client_ca_file if internal_port else "",
        what="PAYCORE_GRPC_TLS",
    )


def http_server_tls(settings: Settings) -> ServerTls | None:
    return server_tls(
        settings.http_tls_cert_file, settings.http_tls_key_file, what="PAYCORE_HTTP_TLS"
    )


def grpc_caller_tls(settings: Settings) -> Tls | None:
    """How paycore's own callers of the gRPC port (the edge) reach it: None is plaintext."""
    if not settings.grpc_tls_ca_file:
        if settings.grpc_client_cert_file:
            raise ConfigurationError("PAYCORE_GRPC_CLIENT_CERT_FILE needs PAYCORE_GRPC_TLS_CA_FILE")
        return None
    ca_file = "" if settings.grpc_tls_ca_file == SYSTEM_ROOTS else settings.grpc_tls_ca_file
    files = (
        ("PAYCORE_GRPC_TLS_CA_FILE", ca_file),
        ("PAYCORE_GRPC_CLIENT_CERT_FILE", settings.grpc_client_cert_file),
        ("PAYCORE_GRPC_CLIENT_KEY_FILE", settings.grpc_client_key_file),
    )
    for name, path in files:
        if path and not Path(path).is_file():
            raise ConfigurationError(f"{name}: no file {path}")
    try:
        return Tls.from_files(
            ca_file, settings.grpc_client_cert_file, settings.grpc_client_key_file
        )
    except ValueError as error:  # Tls's checks (a certificate without its key, a file of no
        # PEM) name its argument: say the setting's name instead
        named = str(error)
        for (name, _), argument in zip(files, ("ca_file", "cert_file", "key_file"), strict=True):
            named = named.replace(argument, name)
        raise ConfigurationError(named) from None


def plaintext(settings: Settings) -> Settings:
    """`settings` without TLS (`paycore dev` serves plaintext on 127.0.0.1 whatever is set)."""
    return settings.with_overrides(
        grpc_tls_cert_file="",
        grpc_tls_key_file="",
        grpc_tls_client_ca_file="",
        http_tls_cert_file="",
        http_tls_key_file="",
        grpc_tls_ca_file="",
        grpc_client_cert_file="",
        grpc_client_key_file="",
    )
