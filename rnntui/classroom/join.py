"""Join strings, ``HOST:PORT/TOKEN``: what a presenter prints and ``rnntui follow`` reads."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
import secrets
from dataclasses import dataclass

#: Bytes of randomness in a generated token (22 URL-safe characters).
TOKEN_BYTES = 16
#: A token is 16 to 128 characters of letters, digits, ``-`` and ``_``.
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{16,128}")
_HOST_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")
#: The longest join string read.
MAX_LENGTH = 400
#: The check a printed join string ends with: ``.`` then this many characters (a digest of the
#: token), so that a cut or mistyped token is noticed by the follower alone.
CHECK_LENGTH = 4


class JoinError(ValueError):
    """A join string that cannot be read; ``str(err)`` is one line saying what is wrong."""


@dataclass(frozen=True)
class Join:
    """Where a presenter listens and the token it asks for."""

    host: str
    port: int
    token: str

    def __str__(self) -> str:
        """As printed: ``HOST:PORT/TOKEN.CHECK`` (``HOST:PORT/TOKEN`` is read too)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}/{self.token}.{token_check(self.token)}"


def token_check(token: str) -> str:
    """The check suffix of ``token``: the first characters of its SHA-256 in URL-safe base64.
    It says nothing the printed token does not (it is printed beside it)."""
    digest = hashlib.sha256(token.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")[:CHECK_LENGTH]


def new_token() -> str:
    """A fresh random token (from :mod:`secrets`), never starting with '-': one in 64 did, and
    ``rnntui present --token -AbC...`` then read it as an option ("argument --token: expected
    one argument"; a browser test failed on it)."""
    while True:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        if not token.startswith("-"):
            return token


def check_token(token: str) -> str:
    """``token`` if it is a usable token, else JoinError."""
    if not TOKEN_RE.fullmatch(token):
        raise JoinError("a token is 16 to 128 characters of letters, digits, '-' and '_'")
    return token


def check_host(host: str) -> str:
    """``host`` if it is an IP address or a host name, else JoinError."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if not _HOST_RE.fullmatch(host) or ".." in host:
        raise JoinError(f"{_show(host)} is not a host name or an IP address")
    return host


def check_port(text: str | int) -> int:
    port = text if isinstance(text, int) else (int(text) if re.fullmatch(r"[0-9]{1,5}", text)
                                               else -1)
    if not 1 <= port <= 65535:
        raise JoinError(f"port {_show(str(text))} is not a whole number from 1 to 65535")
    return port


def parse_join(text: str) -> Join:
    """Read ``HOST:PORT/TOKEN`` (an IPv6 host in brackets: ``[::1]:7341/...``). A leading
    ``rnntui follow `` (the line as printed) is accepted too."""
    if not isinstance(text, str):
        raise JoinError("expected a join string HOST:PORT/TOKEN")
    s = text.strip()
    if s.startswith("rnntui follow "):
        s = s[len("rnntui follow "):].strip()
    if not s:
        raise JoinError("the join string is empty; it looks like 127.0.0.1:7341/TOKEN")
    if len(s) > MAX_LENGTH:
        raise JoinError(f"the join string is {len(s)} characters long; at most {MAX_LENGTH}")
    address, slash, token = s.partition("/")
    if not slash or not token:
        raise JoinError(f"{_show(s)} has no /TOKEN after HOST:PORT (as printed by "
                        f"'rnntui present')")
    if address.startswith("["):
        host, close, rest = address[1:].partition("]")
        if not close or not rest.startswith(":"):
            raise JoinError(f"{_show(address)}: an IPv6 host is written [ADDRESS]:PORT")
        port = rest[1:]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise JoinError(f"{_show(host)} is not an IPv6 address") from None
    else:
        host, colon, port = address.rpartition(":")
        if not colon or not host:
            raise JoinError(f"{_show(address)} is not HOST:PORT")
        host = check_host(host)
    token, dot, check = token.partition(".")
    if dot and (len(check) != CHECK_LENGTH or token_check(token) != check):
        # (told by the follower alone: the presenter never says what was wrong with a token)
        raise JoinError("the token in the join string is incomplete or mistyped (its check "
                        "does not match): copy the whole line 'rnntui present' printed")
    try:
        check_token(token)
    except JoinError as err:
        raise JoinError(f"bad token: {err}") from None
    return Join(host, check_port(port), token)


def is_loopback(host: str) -> bool:
    """The host is this machine only (127.0.0.0/8, ::1 or localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _show(value: str) -> str:
    v = value if len(value) <= 40 else value[:40] + "…"
    return repr(v)
