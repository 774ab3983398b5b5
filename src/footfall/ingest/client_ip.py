"""Find the visitor's IP address behind reverse proxies, and truncate it.

Proxy headers are trivially forged by clients, so they are believed only when the TCP peer is
a configured trusted proxy, and then only as far as trusted hops vouch for them: the
``X-Forwarded-For``/``Forwarded`` chains are walked from the right (the end our own proxies
append to) and the first address that is not a trusted proxy is the client. A broken link in
that walk (garbage, ``unknown``, an obfuscated ``_name``) means nobody we trust knows the
client, so the header is abandoned rather than skipped over to attacker-written entries.

This runs on every request, so the common cases avoid :mod:`ipaddress` entirely: canonical
dotted quads are recognised by a strict regular expression, IPv6 is parsed with
:func:`socket.inet_pton` and formatted exactly as :mod:`ipaddress` would (RFC 5952), and
trusted-network membership is tested on integers precomputed once per ``trusted_proxies``.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import struct
from collections.abc import Callable, Iterable, Iterator, Mapping

__all__ = [
    "IPNetwork",
    "client_ip",
    "is_trusted_proxy",
    "parse_trusted_proxies",
    "truncate_ip",
]

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Exactly what ipaddress.IPv4Address accepts: four decimal octets, no leading zeros.
# [0-9] rather than \d, which would also match non-ASCII digits.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"(?:{_OCTET}\.){{3}}{_OCTET}")
# A numeric port, or an RFC 7239 obfuscated port ("_abc").
_PORT = re.compile(r"[0-9]{1,5}|_[A-Za-z0-9._-]+")
# RFC 7239 list elements / parameters: quoted strings may contain the separators.
_QUOTED_BALANCED = re.compile(r'(?:[^"]|"(?:[^"\\]|\\.)*")*', re.DOTALL)
_FWD_ELEMENT = re.compile(r'(?:[^,"]|"(?:[^"\\]|\\.)*")+', re.DOTALL)
_FWD_PAIR = re.compile(r'(?:[^;"]|"(?:[^"\\]|\\.)*")+', re.DOTALL)
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)

_V4_MAPPED_PREFIX = bytes(10) + b"\xff\xff"
_ZERO_RUNS = tuple(":0" * n + ":" for n in range(8, 1, -1))
_MAX_TOKEN = 100  # longer than any address with brackets, scope id and port
_MAX_HOPS = 32  # bounds the work a forged, very long header can cause


# --- parsing single addresses -------------------------------------------------------------


def _format_v6(packed: bytes) -> str:
    """RFC 5952 text of a 16-byte address, identical to ``str(ipaddress.IPv6Address)``."""
    # ":a:0:0:b:...:" -- groups have no leading zeros, so ":0:" is always a whole zero group.
    text = ":%x:%x:%x:%x:%x:%x:%x:%x:" % struct.unpack("!8H", packed)  # noqa: UP031
    for needle in _ZERO_RUNS:  # the longest run of two or more zero groups; the first on ties
        at = text.find(needle)
        if at >= 0:
            return f"{text[1:at]}::{text[at + len(needle) : -1]}"
    return text[1:-1]


def _pack_v6(text: str) -> bytes | None:
    """16 bytes of a bare IPv6 address (a zone id is dropped), or None if it is not one."""
    if "%" in text:
        text = text.partition("%")[0]
    try:
        return socket.inet_pton(socket.AF_INET6, text)
    except (OSError, ValueError):  # ValueError: embedded NUL, non-encodable text
        return None


def _v6_text(text: str) -> str | None:
    """Canonical text of a bare IPv6 address; IPv4-mapped ones become plain IPv4."""
    packed = _pack_v6(text)
    if packed is None:
        return None
    if packed[:12] == _V4_MAPPED_PREFIX:
        return "{}.{}.{}.{}".format(*packed[12:])
    return _format_v6(packed)


def _parse_ip(token: str) -> str | None:
    """Canonical text of an address as proxies write it (optional port), or None."""
    if _IPV4.fullmatch(token):  # by far the most common case: already canonical
        return token
    token = token.strip()
    if not token or len(token) > _MAX_TOKEN:
        return None
    if token[0] == "[":  # "[2001:db8::1]" or "[2001:db8::1]:443"
        end = token.find("]")
        if end < 0:
            return None
        rest = token[end + 1 :]
        if rest and not (rest[0] == ":" and _PORT.fullmatch(rest, 1)):
            return None
        host = token[1:end]
        return _v6_text(host) if ":" in host else None
    colons = token.count(":")
    if colons == 0:
        return token if _IPV4.fullmatch(token) else None
    if colons == 1:  # "1.2.3.4:5678"
        host, _, port = token.partition(":")
        return host if _IPV4.fullmatch(host) and _PORT.fullmatch(port) else None
    return _v6_text(token)


# --- trusted proxies ------------------------------------------------------------------------


def _unmap(network: IPNetwork) -> IPNetwork:
    """``::ffff:a.b.c.d/n`` (n >= 96) as the IPv4 network it means: addresses are unmapped too."""
    if (
        isinstance(network, ipaddress.IPv6Network)
        and network.prefixlen >= 96
        and network.network_address.ipv4_mapped is not None
    ):
        return ipaddress.IPv4Network(
            (int(network.network_address) & 0xFFFFFFFF, network.prefixlen - 96)
        )
    return network


def parse_trusted_proxies(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Parse configured proxy addresses ("127.0.0.1", "::1", "10.0.0.0/8") once, at start-up.

    A single string is split on commas, so an environment variable can be passed as is;
    blank entries are skipped. Anything else that is not an address or network raises
    ``ValueError`` naming it, because a typo here silently disables (or over-extends) trust.
    """
    if isinstance(values, str):
        values = values.split(",")
    networks: list[IPNetwork] = []
    for value in values:
        if not isinstance(value, str):
            raise ValueError(f"trusted proxy {value!r} is not a string")
        text = value.strip()
        if not text:
            continue
        try:
            network = ipaddress.ip_network(text, strict=True)
        except ValueError as exc:
            if "has host bits set" in str(exc):
                fixed = ipaddress.ip_network(text, strict=False)
                raise ValueError(
                    f"trusted proxy {value!r} has host bits set; write {str(fixed)!r} "
                    "for the whole network or drop the /prefix for a single address"
                ) from None
            raise ValueError(
                f"trusted proxy {value!r} is not an IP address or CIDR network "
                '(examples: "127.0.0.1", "::1", "10.0.0.0/8")'
            ) from None
        network = _unmap(network)
        if network not in networks:
            networks.append(network)
    return tuple(networks)


class _Trust:
    """``trusted_proxies`` precomputed for cheap membership tests."""

    __slots__ = ("exact", "v4", "v6")

    def __init__(self, networks: Iterable[IPNetwork | str]) -> None:
        exact: set[str] = set()
        v4: list[tuple[int, int]] = []
        v6: list[tuple[int, int]] = []
        unmapped: list[IPNetwork] = []
        for item in networks:
            if isinstance(item, str):  # tolerated: parsed (and validated) once, here
                unmapped.extend(parse_trusted_proxies([item]))
            elif isinstance(item, ipaddress.IPv4Network | ipaddress.IPv6Network):
                unmapped.append(_unmap(item))
            else:
                raise TypeError(f"trusted proxy {item!r} is not an IP network")
        for network in unmapped:
            if network.prefixlen == network.max_prefixlen:
                exact.add(str(network.network_address))
            elif network.version == 4:
                v4.append((int(network.network_address), int(network.netmask)))
            else:
                v6.append((int(network.network_address), int(network.netmask)))
        self.exact = frozenset(exact)
        self.v4 = tuple(v4)
        self.v6 = tuple(v6)

    def __contains__(self, ip: str) -> bool:
        """Whether a canonical address (as returned by ``_parse_ip``) is a trusted proxy."""
        if ip in self.exact:
            return True
        if ":" in ip:
            if not self.v6:
                return False
            packed = _pack_v6(ip)
            if packed is None:
                return False
            number = int.from_bytes(packed, "big")
            nets = self.v6
        else:
            if not self.v4:
                return False
            number = int.from_bytes(socket.inet_aton(ip), "big")
            nets = self.v4
        for net, mask in nets:  # noqa: SIM110 - a plain loop; any(<genexpr>) costs more here
            if number & mask == net:
                return True
        return False


# id(tuple) -> (the tuple itself, its _Trust). Holding the tuple keeps its id from being reused,
# so an identity match is always the same object. Configuration builds the tuple once, so in
# practice this holds one entry; it is emptied if callers keep passing fresh tuples.
_TRUST_CACHE: dict[int, tuple[tuple[IPNetwork, ...], _Trust]] = {}


def _trust_for(trusted_proxies: tuple[IPNetwork, ...]) -> _Trust:
    entry = _TRUST_CACHE.get(id(trusted_proxies))
    if entry is not None and entry[0] is trusted_proxies:
        return entry[1]
    trust = _Trust(trusted_proxies)
    if len(_TRUST_CACHE) >= 64:
        _TRUST_CACHE.clear()
    _TRUST_CACHE[id(trusted_proxies)] = (trusted_proxies, trust)
    return trust


# --- header chains --------------------------------------------------------------------------


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """All values of a header joined by commas: a second forged header line must not hide ours."""
    getlist = getattr(headers, "getlist", None)
    if getlist is not None:
        values = getlist(name)
        if not values:
            return None
        return values[0] if len(values) == 1 else ",".join(values)
    return headers.get(name)


def _walk(
    hops: Iterator[str], node: Callable[[str], str | None], truncated: bool, trust: _Trust
) -> str | None:
    """The right-to-left walk; ``hops`` come rightmost first, ``node`` extracts an address.

    Hops left of the answer are never parsed: they are attacker-written and cannot matter.
    """
    last = None
    for hop in hops:
        if not hop or hop.isspace():
            continue  # empty list elements carry no hop and are ignored (RFC 9110 5.6.1)
        ip = node(hop)
        if ip is None:
            return None  # a trusted hop did not know (or hid) its peer: nothing left is safe
        if ip not in trust:
            return ip
        last = ip
    # Every hop is a trusted proxy: the leftmost is the client, unless the chain went on.
    return None if truncated else last


def _from_x_forwarded_for(value: str, trust: _Trust) -> str | None:
    parts = value.rsplit(",", _MAX_HOPS)
    truncated = len(parts) > _MAX_HOPS
    if truncated:
        del parts[0]
    return _walk(reversed(parts), _parse_ip, truncated, trust)


def _forwarded_for(element: str) -> str | None:
    """The ``for=`` node of one ``Forwarded`` element, or None if missing, hidden or invalid."""
    found = None
    for pair in _FWD_PAIR.findall(element):
        name, eq, value = pair.partition("=")
        if not eq:
            if pair.isspace():
                continue
            return None
        if name.strip().lower() != "for":
            continue
        if found is not None:
            return None  # RFC 7239: a parameter must not occur twice in one element
        found = value.strip()
    if found and found[0] == '"':
        if len(found) < 2 or found[-1] != '"':
            return None
        found = _QUOTED_PAIR.sub(r"\1", found[1:-1])
    if not found or found[0] == "_" or found.lower() == "unknown":  # missing or obfuscated
        return None
    return _parse_ip(found)


def _from_forwarded(value: str, trust: _Trust) -> str | None:
    if '"' in value:
        if not _QUOTED_BALANCED.fullmatch(value):
            return None
        elements = _FWD_ELEMENT.findall(value)
    else:
        elements = value.split(",")
    elements = [e for e in elements if e and not e.isspace()]
    truncated = len(elements) > _MAX_HOPS
    return _walk(reversed(elements[-_MAX_HOPS:]), _forwarded_for, truncated, trust)


# --- public API -----------------------------------------------------------------------------


def client_ip(
    peer: str | None,
    headers: Mapping[str, str],
    trusted_proxies: tuple[IPNetwork, ...],
) -> str | None:
    """The visitor's address as canonical text (IPv4-mapped IPv6 as IPv4), or None.

    ``peer`` is the TCP peer (``scope["client"][0]``); ``headers`` a case-insensitive mapping
    such as Starlette's ``Headers``. Proxy headers count only when ``peer`` is in
    ``trusted_proxies`` (from :func:`parse_trusted_proxies`): ``X-Forwarded-For``, else
    ``Forwarded``, else ``X-Real-IP``; a header that yields nothing usable falls through to
    the next, and finally to ``peer``.
    """
    peer_ip = _parse_ip(peer) if peer else None
    if not trusted_proxies or peer_ip is None:
        return peer_ip
    trust = _trust_for(trusted_proxies)
    if peer_ip not in trust:
        return peer_ip
    value = _header(headers, "x-forwarded-for")
    if value and (ip := _from_x_forwarded_for(value, trust)):
        return ip
    value = _header(headers, "forwarded")
    if value and (ip := _from_forwarded(value, trust)):
        return ip
    value = headers.get("x-real-ip")
    if value and (ip := _parse_ip(value)):
        return ip
    return peer_ip


def is_trusted_proxy(peer: str | None, trusted_proxies: tuple[IPNetwork, ...]) -> bool:
    """Whether headers that ``peer`` set (forwarding, country) may be believed."""
    peer_ip = _parse_ip(peer) if peer else None
    return bool(trusted_proxies) and peer_ip is not None and peer_ip in _trust_for(trusted_proxies)


def truncate_ip(ip: str) -> str:
    """Anonymise an address before any use: IPv4 keeps /24, IPv6 keeps /48 (section 3).

    IPv4-mapped IPv6 is truncated as the IPv4 address it is. Raises ``ValueError`` for
    anything that is not a bare address; the message never repeats the input, which might be
    an address that must not reach a log.
    """
    if isinstance(ip, str):
        if _IPV4.fullmatch(ip):
            return ip[: ip.rindex(".")] + ".0"
        packed = _pack_v6(ip) if ":" in ip else None
        if packed is not None:
            if packed[:12] == _V4_MAPPED_PREFIX:
                return "{}.{}.{}.0".format(*packed[12:15])
            words = list(struct.unpack("!3H", packed[:6]))
            while words and not words[-1]:
                words.pop()  # trailing zero groups merge into the "::" of the zeroed 80 bits
            return ":".join(f"{word:x}" for word in words) + "::"
    raise ValueError(
        f"truncate_ip() needs a bare IPv4 or IPv6 address, got an invalid {type(ip).__name__}"
    )
