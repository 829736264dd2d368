"""TLS for a client's channel: whom to trust, and (mutual TLS) who we are."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import grpc

CERTIFICATE = b"-----BEGIN CERTIFICATE-----"
PRIVATE_KEY = b"PRIVATE KEY-----"
"""In `-----BEGIN PRIVATE KEY-----` (PKCS#8), `EC PRIVATE KEY`, `RSA PRIVATE KEY`."""


@dataclass(frozen=True)
class Tls:
    """PEM bytes. `root_certificates` None trusts the system's roots; a certificate chain and
    its private key answer a server that requires client certificates (mTLS)."""

    root_certificates: bytes | None = None
    certificate_chain: bytes | None = field(default=None, repr=False)
    private_key: bytes | None = field(default=None, repr=False)
    server_name: str = ""
    """Checks the server's certificate against this name instead of the target's host."""

    def __post_init__(self) -> None:
        # Half a client identity would reach gRPC's C core, which aborts the whole process
        # (SIGABRT) at the first call; a file without PEM fails later, and opaquely.
        if (self.certificate_chain is None) != (self.private_key is None):
            missing = "key_file" if self.private_key is None else "cert_file"
            raise ValueError(
                f"a client certificate and its private key go together: {missing} is missing"
            )
        for name, pem, marker in (
            ("ca_file", self.root_certificates, CERTIFICATE),
            ("cert_file", self.certificate_chain, CERTIFICATE),
            ("key_file", self.private_key, PRIVATE_KEY),
        ):
            if pem is not None and marker not in pem:
                raise ValueError(f"{name}: no PEM {marker.decode()} in it")

    @classmethod
    def from_files(
        cls, ca_file: str = "", cert_file: str = "", key_file: str = "", server_name: str = ""
    ) -> Tls:
        """From PEM files; an empty path leaves that part out. ValueError names the argument
        at fault: a certificate without its key (or the other way round), a file of no PEM."""
        return cls(
            root_certificates=_read(ca_file),
            certificate_chain=_read(cert_file),
            private_key=_read(key_file),
            server_name=server_name,
        )

    def credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            self.root_certificates, self.private_key, self.certificate_chain
        )

    def channel_options(self) -> list[tuple[str, str]]:
        return [("grpc.ssl_target_name_override", self.server_name)] if self.server_name else []


def _read(path: str) -> bytes | None:
    return Path(path).read_bytes() if path else None
