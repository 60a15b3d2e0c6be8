"""Minimal DER for CMS SignedData (RFC 5652): build a detached signature, and read one back.

Building by hand (instead of a general ASN.1 library) keeps signing close to the raw speed of
ECDSA: the certificate part of the structure is encoded once per signer and cached.
Only DER is read (what this service and `openssl cms -sign -outform DER -nodetach`-free use
produce); indefinite-length BER is refused as malformed.
"""

from __future__ import annotations

from dataclasses import dataclass

OID_DATA = "1.2.840.113549.1.7.1"
OID_SIGNED_DATA = "1.2.840.113549.1.7.2"
OID_CONTENT_TYPE = "1.2.840.113549.1.9.3"
OID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
OID_SIGNING_TIME = "1.2.840.113549.1.9.5"
OID_SHA256 = "2.16.840.1.101.3.4.2.1"
OID_SM3 = "1.2.156.10197.1.401"
OID_ECDSA_SHA256 = "1.2.840.10045.4.3.2"
OID_RSA_SHA256 = "1.2.840.113549.1.1.11"
OID_RSA = "1.2.840.113549.1.1.1"


class DerError(ValueError):
    pass


def length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + length(len(content)) + content


def seq(*parts: bytes) -> bytes:
    return tlv(0x30, b"".join(parts))


def set_of(*parts: bytes) -> bytes:
    return tlv(0x31, b"".join(sorted(parts)))


def integer(value: int) -> bytes:
    body = value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True)
    return tlv(0x02, body)


def oid(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.split(".")]
    body = bytearray([40 * parts[0] + parts[1]])
    for part in parts[2:]:
        chunk = [part & 0x7F]
        part >>= 7
        while part:
            chunk.append(0x80 | (part & 0x7F))
            part >>= 7
        body.extend(reversed(chunk))
    return tlv(0x06, bytes(body))


def decode_oid(body: bytes) -> str:
    """The dotted form of an OID's content octets; truncated or padded encodings are refused.

    The first subidentifier (40 * first arc + second arc) may itself take several octets
    (2.999 is 0x88 0x37).
    """
    if not body:
        raise DerError("empty OID")
    if body[-1] & 0x80:
        raise DerError("truncated OID")
    subidentifiers = []
    value = 0
    start = True
    for byte in body:
        if start and byte == 0x80:
            raise DerError("OID subidentifier is not minimally encoded")
        value = (value << 7) | (byte & 0x7F)
        start = not byte & 0x80
        if start:
            subidentifiers.append(value)
            value = 0
    first = subidentifiers[0]
    parts = [first // 40, first % 40] if first < 80 else [2, first - 80]
    return ".".join(str(p) for p in [*parts, *subidentifiers[1:]])


def algorithm(dotted: str, null_params: bool = False) -> bytes:
    return seq(oid(dotted), b"\x05\x00") if null_params else seq(oid(dotted))


@dataclass(frozen=True)
class Node:
    tag: int
    content: bytes
    raw: bytes  # the whole TLV


def read(data: bytes, offset: int = 0) -> tuple[Node, int]:
    """One TLV at `offset`; returns it and the offset after it."""
    if offset + 2 > len(data):
        raise DerError("truncated")
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise DerError("high tag numbers are not used here")
    first = data[offset + 1]
    pos = offset + 2
    if first < 0x80:
        size = first
    elif first == 0x80:
        raise DerError("indefinite length (BER) is not DER")
    else:
        count = first & 0x7F
        if count > 4 or pos + count > len(data):
            raise DerError("bad length")
        size = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    end = pos + size
    if end > len(data):
        raise DerError("truncated")
    return Node(tag, data[pos:end], data[offset:end]), end


def children(content: bytes) -> list[Node]:
    nodes = []
    offset = 0
    while offset < len(content):
        node, offset = read(content, offset)
        nodes.append(node)
    return nodes


def read_one(data: bytes) -> Node:
    node, end = read(data)
    if end != len(data):
        raise DerError("trailing data")
    return node
