"""Client address behind proxies, and its truncation: who may set the headers, and how."""

from __future__ import annotations

import ipaddress
import random

import pytest
from starlette.datastructures import Headers

from footfall.ingest.client_ip import client_ip, parse_trusted_proxies, truncate_ip

TRUSTED = parse_trusted_proxies(["127.0.0.1", "::1", "10.0.0.0/8", "fd00:1::/64"])


def raw_headers(*pairs: tuple[str, str]) -> Headers:
    """Starlette's Headers, with repeated names kept as separate header lines."""
    return Headers(raw=[(k.lower().encode(), v.encode("latin-1")) for k, v in pairs])


# --- parse_trusted_proxies -----------------------------------------------------------------


def test_parse_trusted_proxies_accepts_addresses_and_networks() -> None:
    assert parse_trusted_proxies(["127.0.0.1", "::1", " 10.0.0.0/8 ", "2001:db8::/32"]) == (
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("::1/128"),
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("2001:db8::/32"),
    )


def test_parse_trusted_proxies_splits_a_single_string_and_skips_blanks() -> None:
    assert parse_trusted_proxies("127.0.0.1, 10.0.0.0/8,") == (
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("10.0.0.0/8"),
    )
    assert parse_trusted_proxies([]) == ()
    assert parse_trusted_proxies(["127.0.0.1", "127.0.0.1/32"]) == (
        ipaddress.ip_network("127.0.0.1/32"),
    )


def test_parse_trusted_proxies_unmaps_ipv4_mapped_ipv6() -> None:
    # Addresses are compared in their unmapped form, so the networks must be too.
    assert parse_trusted_proxies(["::ffff:10.1.2.3", "::ffff:192.168.0.0/112"]) == (
        ipaddress.ip_network("10.1.2.3/32"),
        ipaddress.ip_network("192.168.0.0/16"),
    )


@pytest.mark.parametrize(
    "bad", ["localhost", "10.0.0.0/33", "1.2.3", "300.1.1.1", "10.0.0.0/8/8", "*", "::1::2"]
)
def test_parse_trusted_proxies_names_the_bad_value(bad: str) -> None:
    with pytest.raises(ValueError, match="trusted proxy") as info:
        parse_trusted_proxies(["127.0.0.1", bad])
    assert repr(bad) in str(info.value)


def test_parse_trusted_proxies_explains_host_bits() -> None:
    with pytest.raises(ValueError, match=r"'10\.1\.2\.3/8' has host bits set.*'10\.0\.0\.0/8'"):
        parse_trusted_proxies(["10.1.2.3/8"])


# --- no proxies, untrusted peers -----------------------------------------------------------


def test_peer_without_trusted_proxies() -> None:
    assert client_ip("203.0.113.7", {}, ()) == "203.0.113.7"
    assert client_ip("2001:DB8::0:1", {}, ()) == "2001:db8::1"
    assert client_ip(None, {}, ()) is None
    assert client_ip("", {}, ()) is None
    assert client_ip("testclient", {}, ()) is None  # Starlette's TestClient: not an address


def test_headers_ignored_without_trusted_proxies() -> None:
    headers = {"x-forwarded-for": "1.1.1.1", "forwarded": "for=1.1.1.1", "x-real-ip": "1.1.1.1"}
    assert client_ip("203.0.113.7", headers, ()) == "203.0.113.7"


@pytest.mark.parametrize(
    "headers",
    [
        {"x-forwarded-for": "1.1.1.1"},
        {"x-forwarded-for": "1.1.1.1, 127.0.0.1"},  # even naming a trusted proxy
        {"forwarded": "for=1.1.1.1"},
        {"x-real-ip": "1.1.1.1"},
    ],
)
def test_untrusted_peer_with_spoofed_headers_is_the_client(headers: dict[str, str]) -> None:
    assert client_ip("203.0.113.7", headers, TRUSTED) == "203.0.113.7"
    assert client_ip("2001:db8::7", headers, TRUSTED) == "2001:db8::7"


def test_a_peer_just_outside_a_trusted_network_is_not_trusted() -> None:
    headers = {"x-forwarded-for": "1.1.1.1"}
    assert client_ip("11.0.0.1", headers, TRUSTED) == "11.0.0.1"
    assert client_ip("9.255.255.255", headers, TRUSTED) == "9.255.255.255"
    assert client_ip("127.0.0.2", headers, TRUSTED) == "127.0.0.2"
    assert client_ip("fd00:1:0:1::1", headers, TRUSTED) == "fd00:1:0:1::1"
    assert client_ip("fd00:1::ffff", headers, TRUSTED) == "1.1.1.1"


# --- X-Forwarded-For -----------------------------------------------------------------------


def test_one_hop() -> None:
    assert client_ip("127.0.0.1", {"x-forwarded-for": "203.0.113.7"}, TRUSTED) == "203.0.113.7"
    assert client_ip("10.9.8.7", {"x-forwarded-for": "203.0.113.7"}, TRUSTED) == "203.0.113.7"
    assert client_ip("::1", {"x-forwarded-for": "2001:db8::7"}, TRUSTED) == "2001:db8::7"


def test_multi_hop_skips_trusted_hops_from_the_right() -> None:
    # client -> CDN edge (untrusted, appended by our LB) would be the answer; here the chain is
    # forged-by-client, real client, our LB 10.0.0.2, our nginx 10.0.0.1 -> app (peer 127.0.0.1)
    headers = {"x-forwarded-for": "6.6.6.6, 203.0.113.7, 10.0.0.2, 10.0.0.1"}
    assert client_ip("127.0.0.1", headers, TRUSTED) == "203.0.113.7"


def test_multi_hop_stops_at_the_first_untrusted_hop() -> None:
    # An untrusted intermediary: what it claims about its own client cannot be believed.
    headers = {"x-forwarded-for": "203.0.113.7, 198.51.100.9, 10.0.0.1"}
    assert client_ip("127.0.0.1", headers, TRUSTED) == "198.51.100.9"


def test_all_hops_trusted_gives_the_leftmost() -> None:
    headers = {"x-forwarded-for": "10.0.0.3, 10.0.0.2"}
    assert client_ip("127.0.0.1", headers, TRUSTED) == "10.0.0.3"


def test_spoofed_leftmost_value_is_never_used() -> None:
    headers = {"x-forwarded-for": "127.0.0.1, 203.0.113.7"}
    assert client_ip("127.0.0.1", headers, TRUSTED) == "203.0.113.7"


def test_whitespace_and_empty_elements() -> None:
    headers = {"x-forwarded-for": "  203.0.113.7 ,, 10.0.0.1 ,"}
    assert client_ip("127.0.0.1", headers, TRUSTED) == "203.0.113.7"


def test_repeated_header_lines_are_one_list() -> None:
    # A client-sent line first, then the line our proxy added: reading only the first line
    # would hand the client's forgery to us.
    headers = raw_headers(("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-For", "203.0.113.7"))
    assert client_ip("127.0.0.1", headers, TRUSTED) == "203.0.113.7"


def test_starlette_headers_are_case_insensitive() -> None:
    headers = raw_headers(("X-FORWARDED-FOR", "203.0.113.7"))
    assert client_ip("127.0.0.1", headers, TRUSTED) == "203.0.113.7"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("203.0.113.7:5678", "203.0.113.7"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("[::ffff:203.0.113.7]:80", "203.0.113.7"),
        ("::ffff:cb00:7107", "203.0.113.7"),
        ("fe80::1%eth0", "fe80::1"),
    ],
)
def test_address_forms(value: str, expected: str) -> None:
    assert client_ip("127.0.0.1", {"x-forwarded-for": value}, TRUSTED) == expected


@pytest.mark.parametrize(
    "junk",
    [
        "",
        " ",
        "unknown",
        "garbage",
        "999.1.1.1",
        "1.2.3",
        "01.2.3.4",
        "1.2.3.4.5",
        "1.2.3.4:",
        "1.2.3.4:port",
        "1.2.3.4:123456",
        "[1.2.3.4]",
        "[2001:db8::1",
        "[2001:db8::1]x",
        "2001:db8::1:443:1:2:3:4",
        "\uff11.\uff12.\uff13.\uff14",  # full-width digits: digits to isdigit(), not to us
        "1.2.3.4\x00",
        "é::1",
        "1" * 200,
    ],
)
def test_junk_falls_back_to_the_peer(junk: str) -> None:
    assert client_ip("127.0.0.1", {"x-forwarded-for": junk}, TRUSTED) == "127.0.0.1"
    assert client_ip("127.0.0.1", {"forwarded": f"for={junk}"}, TRUSTED) == "127.0.0.1"
    assert client_ip("127.0.0.1", {"x-real-ip": junk}, TRUSTED) == "127.0.0.1"
    assert client_ip(junk, {}, ()) is None


def test_junk_in_the_trusted_part_of_the_chain_abandons_the_header() -> None:
    # The hop our proxy wrote is unusable, so nothing to its left can be trusted: the
    # attacker-written 6.6.6.6 must not be picked. The next source (X-Real-IP) is used.
    headers = {"x-forwarded-for": "6.6.6.6, garbage, 10.0.0.1", "x-real-ip": "203.0.113.7"}
    assert client_ip("127.0.0.1", headers, TRUSTED) == "203.0.113.7"
    headers = {"x-forwarded-for": "6.6.6.6, garbage, 10.0.0.1"}
    assert client_ip("127.0.0.1", headers, TRUSTED) == "127.0.0.1"


def test_junk_left_of_the_client_is_irrelevant() -> None:
    headers = {"x-forwarded-for": "garbage, 203.0.113.7, 10.0.0.1"}
    assert client_ip("127.0.0.1", headers, TRUSTED) == "203.0.113.7"


def test_a_very_long_forged_chain_is_cheap_and_harmless() -> None:
    chain = ", ".join(["6.6.6.6"] * 5000 + ["203.0.113.7"])
    assert client_ip("127.0.0.1", {"x-forwarded-for": chain}, TRUSTED) == "203.0.113.7"
    only_proxies = ", ".join(["10.0.0.1"] * 100)
    assert client_ip("127.0.0.1", {"x-forwarded-for": only_proxies}, TRUSTED) == "127.0.0.1"


# --- Forwarded (RFC 7239) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("for=203.0.113.7", "203.0.113.7"),
        ("For=203.0.113.7", "203.0.113.7"),
        ('for="203.0.113.7"', "203.0.113.7"),
        ("for=203.0.113.7;proto=https;by=10.0.0.1", "203.0.113.7"),
        ("proto=https; for=203.0.113.7 ;host=example.com", "203.0.113.7"),
        ('for="203.0.113.7:4711"', "203.0.113.7"),
        ('for="[2001:db8:cafe::17]"', "2001:db8:cafe::17"),
        ('for="[2001:db8:cafe::17]:4711"', "2001:db8:cafe::17"),
        ('for="[2001:db8:cafe::17]:_port"', "2001:db8:cafe::17"),
        ('for="[::ffff:203.0.113.7]"', "203.0.113.7"),
        ("for=192.0.2.43, for=198.51.100.17", "198.51.100.17"),
        ("for=198.51.100.17, for=10.0.0.1", "198.51.100.17"),
        ('for=192.0.2.43;host="a,b;c", for=198.51.100.17', "198.51.100.17"),
        ('for=198.51.100.17;x="a \\" quoted, comma"', "198.51.100.17"),
        ('for="\\2\\0\\3.0.113.7"', "203.0.113.7"),
        ("for=_hidden, for=198.51.100.17", "198.51.100.17"),  # obfuscated, but left of it
    ],
)
def test_forwarded(value: str, expected: str) -> None:
    assert client_ip("127.0.0.1", {"forwarded": value}, TRUSTED) == expected


@pytest.mark.parametrize(
    "value",
    [
        "for=unknown",
        "for=_hidden",
        'for="_gazonk"',
        "for=198.51.100.17, for=unknown",  # our proxy did not know: the rest is not safe
        "for=198.51.100.17, for=_hidden, for=10.0.0.1",
        "proto=https",  # no for=
        "for=198.51.100.17, proto=https",
        "for=1.1.1.1;for=2.2.2.2",  # repeated parameter
        'for="198.51.100.17',  # unterminated quote
        'for=198.51.100.17, for="',
        "for=",
        'for=""',
        "for",
        "=,;;,",
        "for=[2001:db8::1",
    ],
)
def test_forwarded_unusable(value: str) -> None:
    assert client_ip("127.0.0.1", {"forwarded": value}, TRUSTED) == "127.0.0.1"


def test_x_forwarded_for_wins_over_forwarded() -> None:
    headers = {"x-forwarded-for": "203.0.113.7", "forwarded": "for=198.51.100.17"}
    assert client_ip("127.0.0.1", headers, TRUSTED) == "203.0.113.7"


def test_forwarded_used_when_x_forwarded_for_is_junk() -> None:
    headers = {"x-forwarded-for": "nonsense", "forwarded": "for=198.51.100.17"}
    assert client_ip("127.0.0.1", headers, TRUSTED) == "198.51.100.17"


def test_forwarded_repeated_lines() -> None:
    headers = raw_headers(("Forwarded", "for=6.6.6.6"), ("Forwarded", 'for="[2001:db8::2]"'))
    assert client_ip("127.0.0.1", headers, TRUSTED) == "2001:db8::2"


# --- X-Real-IP -----------------------------------------------------------------------------


def test_x_real_ip() -> None:
    assert client_ip("127.0.0.1", {"x-real-ip": "203.0.113.7"}, TRUSTED) == "203.0.113.7"
    assert client_ip("127.0.0.1", {"x-real-ip": " 2001:db8::9 "}, TRUSTED) == "2001:db8::9"
    assert client_ip("127.0.0.1", {"x-real-ip": "[2001:db8::9]:80"}, TRUSTED) == "2001:db8::9"


def test_x_real_ip_is_the_last_resort() -> None:
    headers = {"x-forwarded-for": "203.0.113.7", "x-real-ip": "198.51.100.17"}
    assert client_ip("127.0.0.1", headers, TRUSTED) == "203.0.113.7"
    headers = {"forwarded": "for=203.0.113.7", "x-real-ip": "198.51.100.17"}
    assert client_ip("127.0.0.1", headers, TRUSTED) == "203.0.113.7"


def test_trusted_peer_without_headers_is_the_client() -> None:
    assert client_ip("127.0.0.1", {}, TRUSTED) == "127.0.0.1"


# --- peers in unusual forms ----------------------------------------------------------------


def test_ipv4_mapped_peer_is_ipv4_and_can_be_trusted() -> None:
    # A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d.
    assert client_ip("::ffff:203.0.113.7", {}, ()) == "203.0.113.7"
    headers = {"x-forwarded-for": "203.0.113.7"}
    assert client_ip("::ffff:127.0.0.1", headers, TRUSTED) == "203.0.113.7"
    assert client_ip("::ffff:10.1.1.1", headers, TRUSTED) == "203.0.113.7"


def test_ipv6_trusted_network() -> None:
    headers = {"x-forwarded-for": "2001:db8::7, fd00:1::2"}
    assert client_ip("fd00:1::1", headers, TRUSTED) == "2001:db8::7"


def test_trusted_proxies_may_be_any_tuple_of_networks() -> None:
    # Not only what parse_trusted_proxies returns: unmapped and checked all the same.
    trusted = (ipaddress.ip_network("::ffff:127.0.0.1/128"),)
    assert client_ip("127.0.0.1", {"x-forwarded-for": "203.0.113.7"}, trusted) == "203.0.113.7"
    for _ in range(100):  # fresh tuples every call must not confuse the per-tuple cache
        fresh = tuple(parse_trusted_proxies(["10.0.0.0/8"]))
        assert client_ip("127.0.0.1", {"x-forwarded-for": "1.1.1.1"}, fresh) == "127.0.0.1"
        assert client_ip("10.0.0.1", {"x-forwarded-for": "1.1.1.1"}, fresh) == "1.1.1.1"


# --- truncate_ip -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("203.0.113.77", "203.0.113.0"),
        ("203.0.113.0", "203.0.113.0"),
        ("0.0.0.0", "0.0.0.0"),
        ("255.255.255.255", "255.255.255.0"),
        ("2001:db8:abcd:12:3456:789a:bcde:f012", "2001:db8:abcd::"),
        ("2001:db8:abcd::", "2001:db8:abcd::"),
        ("2001:DB8:ABCD:0012::1", "2001:db8:abcd::"),
        ("2001:db8:0:1::1", "2001:db8::"),
        ("2001:0:abcd::1", "2001:0:abcd::"),
        ("0:0:1::1", "0:0:1::"),
        ("::1", "::"),
        ("::", "::"),
        ("::ffff:203.0.113.77", "203.0.113.0"),
        ("::ffff:cb00:714d", "203.0.113.0"),
    ],
)
def test_truncate_ip(ip: str, expected: str) -> None:
    assert truncate_ip(ip) == expected
    assert truncate_ip(expected) == expected  # idempotent


def test_truncate_ip_matches_ipaddress_networks() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        groups = [rng.choice([0, 0, 1, 0xFFFF, rng.randrange(1 << 16)]) for _ in range(8)]
        address = ipaddress.IPv6Address(int.from_bytes(b"".join(g.to_bytes(2) for g in groups)))
        if address.ipv4_mapped is not None:
            continue
        expected = ipaddress.ip_network(f"{address}/48", strict=False).network_address
        assert truncate_ip(str(address)) == str(expected)
        assert truncate_ip(address.exploded) == str(expected)
        v4 = ipaddress.IPv4Address(rng.randrange(1 << 32))
        assert truncate_ip(str(v4)) == str(ipaddress.ip_network(f"{v4}/24", strict=False)[0])


def test_client_ip_output_matches_ipaddress_text() -> None:
    rng = random.Random(11)
    for _ in range(2000):
        groups = [rng.choice([0, 0, 1, 0xFFFF, rng.randrange(1 << 16)]) for _ in range(8)]
        address = ipaddress.IPv6Address(int.from_bytes(b"".join(g.to_bytes(2) for g in groups)))
        expected = str(address.ipv4_mapped or address)
        assert client_ip(address.exploded, {}, ()) == expected
        assert client_ip(str(address), {}, ()) == expected
        if not any(ipaddress.ip_address(expected) in network for network in TRUSTED):
            headers = {"x-forwarded-for": f"[{address.exploded}]:1"}
            assert client_ip("127.0.0.1", headers, TRUSTED) == expected


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "garbage",
        "1.2.3",
        "01.2.3.4",
        "1.2.3.4:80",
        "[::1]",
        "2001:db8::1/48",
        "::1::",
        None,
        42,
    ],
)
def test_truncate_ip_rejects_junk_without_echoing_it(junk: object) -> None:
    with pytest.raises(ValueError) as info:
        truncate_ip(junk)  # type: ignore[arg-type]
    if isinstance(junk, str) and junk:
        assert junk not in str(info.value)
