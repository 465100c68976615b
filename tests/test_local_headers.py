"""Local mode serves only this computer: what the forwarding headers of a request say about
where it came from. Every value of every forwarding header counts, however it arrives (a
header repeated on lines of its own, or its values joined with commas); any address that is
not this computer's, or any value that is not an address at all, refuses the request."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from streamlit.runtime.context import StreamlitHeaders

ROOT = Path(__file__).resolve().parents[1]
Lines = list[tuple[str, str]]


@pytest.fixture(scope="module")
def ui() -> Iterator[ModuleType]:
    sys.path.insert(0, str(ROOT))
    try:
        import ui

        yield ui
    finally:
        sys.path.remove(str(ROOT))


LOCAL: dict[str, Lines] = {
    "no forwarding header": [("Host", "127.0.0.1:8501"), ("User-Agent", "Chromium")],
    "x-forwarded-for loopback": [("X-Forwarded-For", "127.0.0.1")],
    "x-forwarded-for loopback twice, joined": [("X-Forwarded-For", "127.0.0.1, ::1")],
    "x-forwarded-for loopback twice, on two lines": [
        ("X-Forwarded-For", "127.0.0.1"),
        ("x-forwarded-for", "::1"),
    ],
    "x-real-ip with a port": [("X-Real-Ip", "127.0.0.1:52100")],
    "x-real-ip ipv6 in brackets with a port": [("X-Real-Ip", "[::1]:52100")],
    "x-real-ip ipv4 mapped into ipv6": [("X-Real-Ip", "::ffff:127.0.0.1")],
    "forwarded for loopback": [("Forwarded", "for=127.0.0.1;proto=http")],
    "forwarded quoted ipv6 with a port": [("Forwarded", 'for="[::1]:4711";proto=https')],
    "forwarded by and for loopback": [("Forwarded", "for=127.0.0.1;by=127.0.0.1")],
    "forwarded two elements, both loopback": [("Forwarded", "for=127.0.0.1, for=127.0.0.2")],
    "every header, all loopback": [
        ("X-Forwarded-For", "127.0.0.1"),
        ("X-Real-Ip", "127.0.0.1"),
        ("Forwarded", "for=127.0.0.1"),
    ],
}

REFUSED: dict[str, Lines] = {
    "x-forwarded-for another machine": [("X-Forwarded-For", "203.0.113.7")],
    "x-forwarded-for another machine after loopback, joined": [
        ("X-Forwarded-For", "127.0.0.1, 203.0.113.7")
    ],
    "x-forwarded-for another machine on a second line": [
        ("X-Forwarded-For", "127.0.0.1"),
        ("X-Forwarded-For", "203.0.113.9"),
    ],
    "x-real-ip another machine on a second line": [
        ("X-Real-Ip", "127.0.0.1"),
        ("X-Real-Ip", "203.0.113.9"),
    ],
    "x-real-ip another machine on a second line, other spelling": [
        ("x-real-ip", "127.0.0.1"),
        ("X-REAL-IP", "203.0.113.9"),
    ],
    "x-real-ip joined": [("X-Real-Ip", "127.0.0.1,203.0.113.9")],
    "x-real-ip private network": [("X-Real-Ip", "10.0.0.5:443")],
    "x-real-ip ipv6": [("X-Real-Ip", "2001:db8::1")],
    "forwarded another machine on a second line": [
        ("Forwarded", "for=127.0.0.1"),
        ("Forwarded", "for=203.0.113.9;proto=https"),
    ],
    "forwarded another machine in a second element": [
        ("Forwarded", "for=127.0.0.1;proto=http, for=203.0.113.9")
    ],
    "forwarded quoted ipv6": [("Forwarded", 'for="[2001:db8::1]:4711"')],
    "forwarded by another machine": [("Forwarded", "for=127.0.0.1;by=203.0.113.1")],
    "forwarded for twice in one element": [("Forwarded", "for=127.0.0.1;for=203.0.113.9")],
    "forwarded with no for": [("Forwarded", "proto=https;host=example.org")],
    "forwarded hidden client": [("Forwarded", "for=_hidden")],
    "forwarded unknown client": [("Forwarded", "for=unknown")],
    "forwarded not a pair": [("Forwarded", "127.0.0.1")],
    "forwarded quoted comma": [("Forwarded", 'for="127.0.0.1, 203.0.113.9"')],
    "x-forwarded-for unknown": [("X-Forwarded-For", "unknown")],
    "x-forwarded-for a name": [("X-Forwarded-For", "example.org")],
    "x-forwarded-for empty": [("X-Forwarded-For", "")],
    "x-forwarded-for only commas": [("X-Forwarded-For", " , ")],
    "x-forwarded-for a bad port": [("X-Forwarded-For", "127.0.0.1:http")],
    "x-forwarded-for garbage in brackets": [("X-Forwarded-For", "[127.0.0.1]x")],
    "loopback headers, then one more header naming another machine": [
        ("X-Forwarded-For", "127.0.0.1"),
        ("Forwarded", "for=127.0.0.1"),
        ("X-Real-Ip", "127.0.0.1"),
        ("X-Real-Ip", "198.51.100.4"),
    ],
}


@pytest.mark.parametrize("lines", list(LOCAL.values()), ids=list(LOCAL))
def test_loopback_forwarding_is_local(ui: ModuleType, lines: Lines) -> None:
    assert ui.headers_are_local(lines) is True
    assert ui.headers_are_local(StreamlitHeaders(lines)) is True


@pytest.mark.parametrize("lines", list(REFUSED.values()), ids=list(REFUSED))
def test_any_other_address_or_unreadable_value_refuses(ui: ModuleType, lines: Lines) -> None:
    # As (name, value) lines, and as st.context.headers holds them (a mapping whose plain
    # lookup gives only one of a repeated header's values).
    assert ui.headers_are_local(lines) is False
    assert ui.headers_are_local(StreamlitHeaders(lines)) is False


def test_a_repeated_header_is_read_whole_not_by_its_first_value(ui: ModuleType) -> None:
    headers = StreamlitHeaders([("X-Real-Ip", "127.0.0.1"), ("X-Real-Ip", "203.0.113.9")])
    assert headers.get("X-Real-Ip") == "127.0.0.1"  # what a plain lookup sees
    assert ui.headers_are_local(headers) is False
