"""API-key extraction as llama-swap does it (§7): Basic password, then Bearer, then x-api-key."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping


def extract_api_key(headers: Mapping[str, str], *, case_sensitive_scheme: bool) -> str | None:
    """The key the client offers, from the first source present in precedence order.

    The gin era compares the scheme names `Basic` / `Bearer` case-sensitively (§12); the
    net/http era accepts any case.
    """
    authorization = headers.get("Authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if not case_sensitive_scheme:
        scheme = scheme.lower().capitalize()
    if scheme == "Basic" and credentials:
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        _user, sep, password = decoded.partition(":")
        if sep:
            return password
    if scheme == "Bearer" and credentials:
        return credentials.strip()
    api_key = headers.get("x-api-key")
    return api_key if api_key else None


def is_authorized(headers: Mapping[str, str], expected: str | None, *,
                  case_sensitive_scheme: bool) -> bool:
    if expected is None:  # empty apiKeys list: no auth
        return True
    offered = extract_api_key(headers, case_sensitive_scheme=case_sensitive_scheme)
    return offered is not None and hmac.compare_digest(offered.encode(), expected.encode())
