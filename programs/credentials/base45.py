"""Base45 (RFC 9285), the alphabet QR codes hold in alphanumeric mode."""

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}


class Base45Error(ValueError):
    """The text is not Base45."""


def b45encode(data: bytes) -> str:
    out = []
    append = out.append
    n = len(data) - 1
    i = 0
    while i < n:
        v = (data[i] << 8) | data[i + 1]
        v, c = divmod(v, 45)
        e, d = divmod(v, 45)
        append(ALPHABET[c] + ALPHABET[d] + ALPHABET[e])
        i += 2
    if i == n:
        d, c = divmod(data[i], 45)
        append(ALPHABET[c] + ALPHABET[d])
    return "".join(out)


def b45decode(text: str) -> bytes:
    try:
        values = [_VALUE[c] for c in text]
    except KeyError as exc:
        raise Base45Error(f"character {exc.args[0]!r} is not Base45") from None
    out = bytearray()
    full, rest = divmod(len(values), 3)
    for k in range(full):
        c, d, e = values[3 * k : 3 * k + 3]
        v = c + d * 45 + e * 2025
        if v > 0xFFFF:
            raise Base45Error("a Base45 triplet is out of range")
        out += bytes((v >> 8, v & 0xFF))
    if rest == 1:
        raise Base45Error("Base45 text has a dangling character")
    if rest == 2:
        c, d = values[-2:]
        v = c + d * 45
        if v > 0xFF:
            raise Base45Error("a Base45 pair is out of range")
        out.append(v)
    return bytes(out)
