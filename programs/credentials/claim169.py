"""MOSIP Claim 169 v1.2: identity as CBOR in a CWT (claim key 169), signed with COSE_Sign1 (Ed25519 or ES256),
optionally wrapped in COSE_Encrypt0 (AES-GCM), zlib-compressed and Base45-encoded for a QR code.

Pure code with no ORM calls: `encode` builds the QR text from claims already chosen by the caller, `decode` takes the
scanned text and returns the claims or raises `Claim169Error` whose `reason` says what was wrong (the API and the
verifier page show it in plain words).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .base45 import Base45Error, b45decode, b45encode, b45encode_many

CLAIM_KEY = 169

# Claim 169 v1.2 attribute numbers (claim_169.md section 3.1), named as the official test vectors name them.
DEMOGRAPHICS: dict[int, str] = {
    1: "id",
    2: "version",
    3: "language",
    4: "fullName",
    5: "firstName",
    6: "middleName",
    7: "lastName",
    8: "dateOfBirth",
    9: "gender",
    10: "address",
    11: "email",
    12: "phone",
    13: "nationality",
    14: "maritalStatus",
    15: "guardian",
    16: "photo",
    17: "photoFormat",
    18: "bestQualityFingers",
    19: "secondaryFullName",
    20: "secondaryLanguage",
    21: "locationCode",
    22: "legalStatus",
    23: "countryOfIssuance",
}
BIOMETRICS: dict[int, str] = {
    50: "rightThumb",
    51: "rightPointerFinger",
    52: "rightMiddleFinger",
    53: "rightRingFinger",
    54: "rightLittleFinger",
    55: "leftThumb",
    56: "leftPointerFinger",
    57: "leftMiddleFinger",
    58: "leftRingFinger",
    59: "leftLittleFinger",
    60: "rightIris",
    61: "leftIris",
    62: "face",
    63: "rightPalm",
    64: "leftPalm",
    65: "voice",
}
# Closed-ecosystem attributes in the range the spec leaves "for any other data" (75..99): only spmis verifiers read
# them; any other Claim 169 reader keeps them as unknown fields.
EXTENSIONS: dict[int, str] = {80: "programCode", 81: "cardCode"}
DEMOGRAPHICS = {**DEMOGRAPHICS, **EXTENSIONS}
BIOMETRIC_PARTS = {0: "data", 1: "format", 2: "subFormat", 3: "issuer"}
NAME_TO_KEY = {name: key for key, name in {**DEMOGRAPHICS, **BIOMETRICS}.items()}
INT_FIELDS = {"gender", "maritalStatus", "photoFormat"}

# CWT claim keys (RFC 8392) and COSE header/algorithm numbers (RFC 9052/9053).
CWT_ISS, CWT_SUB, CWT_EXP, CWT_NBF, CWT_IAT = 1, 2, 4, 5, 6
HDR_ALG, HDR_KID, HDR_IV = 1, 4, 5
ALG_EDDSA, ALG_ES256 = -8, -7
ALG_NAMES = {ALG_EDDSA: "EdDSA", ALG_ES256: "ES256"}
AES_GCM = {1: 16, 2: 24, 3: 32}  # A128GCM, A192GCM, A256GCM: key length in bytes
TAG_SIGN1, TAG_ENCRYPT0, TAG_CWT = 18, 16, 61
# The CWT "status" claim of the IETF Token Status List draft: {"status_list": {"idx": n, "uri": "..."}}; Claim 169
# leaves status to the issuer, and our verifier looks the bit up in the issuer's W3C Bitstring Status List.
CWT_STATUS = 65535

# Refusal reasons, stable codes the API returns beside the message.
REASONS = {
    "base45": "The code is not a readable Claim 169 QR code (bad Base45).",
    "decompress": "The code is damaged: its compressed content cannot be unpacked.",
    "too_large": "The code unpacks to more data than any card holds.",
    "cose": "The code is not a signed credential (not a COSE structure).",
    "cwt": "The signed content is not a valid token.",
    "claim169_missing": "The token holds no Claim 169 identity.",
    "unsigned": "The code carries no signature.",
    "unknown_key": "The code was signed with a key this verifier does not know.",
    "unsupported_algorithm": "The code uses a signature algorithm this verifier does not accept.",
    "bad_signature": "The signature does not match: the code was altered or forged.",
    "decryption": "The code is encrypted and cannot be opened with the keys given.",
    "expired": "The credential has expired.",
    "not_yet_valid": "The credential is not valid yet.",
}

MAX_DECOMPRESSED = 64 * 1024


class Claim169Error(ValueError):
    """A scanned code refused; `reason` is one of REASONS."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        message = REASONS[reason]
        super().__init__(f"{message} {detail}".strip())


@dataclass(frozen=True)
class SigningKey:
    """A private key with its key id, as the issuer signs with it."""

    kid: str
    alg: str  # "EdDSA" or "ES256"
    private_key: Any

    @property
    def public_key(self) -> Any:
        return self.private_key.public_key()


@dataclass(frozen=True)
class VerificationKey:
    """A public key the verifier trusts, with its key id (None: try it on codes that carry no key id)."""

    kid: str | None
    alg: str
    public_key: Any


@dataclass
class Decoded:
    """What a verified code says."""

    claims: dict[str, Any]
    issuer: str | None = None
    subject: str | None = None
    issued_at: int | None = None
    not_before: int | None = None
    expires_at: int | None = None
    kid: str | None = None
    alg: str | None = None
    verified: bool = False
    encrypted: bool = False
    unknown: dict[int, Any] = field(default_factory=dict)
    status_index: int | None = None
    status_uri: str | None = None


# ---- claims <-> CBOR map ---------------------------------------------------------------------------------------


def claims_to_map(claims: dict[str, Any]) -> dict[int, Any]:
    """Named claims to the integer-keyed Claim 169 map; unknown names are refused (only configured fields go in)."""
    out: dict[int, Any] = {}
    for name, value in claims.items():
        if value is None or value == "":
            continue
        try:
            key = NAME_TO_KEY[name]
        except KeyError:
            raise ValueError(f"{name!r} is not a Claim 169 field") from None
        if key in BIOMETRICS:
            out[key] = [{k: part[n] for k, n in BIOMETRIC_PARTS.items() if n in part} for part in value]
        elif name in INT_FIELDS:
            out[key] = int(value)
        elif name == "bestQualityFingers":
            out[key] = [int(v) for v in value]
        elif name == "photo":
            out[key] = bytes(value)
        else:
            out[key] = str(value)
    return out


def map_to_claims(raw: Mapping) -> tuple[dict[str, Any], dict[int, Any]]:
    """The Claim 169 map to named claims, with attributes this version does not name kept apart."""
    claims: dict[str, Any] = {}
    unknown: dict[int, Any] = {}
    for key, value in raw.items():
        if key in DEMOGRAPHICS:
            claims[DEMOGRAPHICS[key]] = value
        elif key in BIOMETRICS and isinstance(value, list):
            claims[BIOMETRICS[key]] = [
                {BIOMETRIC_PARTS[k]: v for k, v in part.items() if k in BIOMETRIC_PARTS}
                for part in value
                if isinstance(part, Mapping)
            ]
        else:
            unknown[key] = value
    return claims, unknown


# ---- signing ---------------------------------------------------------------------------------------------------


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    return cbor2.dumps(["Signature1", protected, b"", payload])


def _sign(key: SigningKey, message: bytes) -> bytes:
    if key.alg == "EdDSA":
        return key.private_key.sign(message)
    if key.alg == "ES256":
        r, s = decode_dss_signature(key.private_key.sign(message, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")  # COSE wants raw r || s, not DER
    raise ValueError(f"unsupported algorithm {key.alg}")


def protected_header(key: SigningKey) -> bytes:
    alg = ALG_EDDSA if key.alg == "EdDSA" else ALG_ES256
    return cbor2.dumps({HDR_ALG: alg, HDR_KID: key.kid.encode()})


def cwt_payload(
    claims: dict[str, Any],
    *,
    issuer: str,
    issued_at: int,
    expires_at: int | None,
    subject: str | None = None,
    status: tuple[int, str] | None = None,
) -> bytes:
    cwt: dict[int, Any] = {CWT_ISS: issuer}
    if subject:
        cwt[CWT_SUB] = subject
    if expires_at is not None:
        cwt[CWT_EXP] = int(expires_at)
    cwt[CWT_IAT] = int(issued_at)
    cwt[CLAIM_KEY] = claims_to_map(claims)
    if status is not None:
        cwt[CWT_STATUS] = {"status_list": {"idx": status[0], "uri": status[1]}}
    return cbor2.dumps(cwt)


def sign_payload(payload: bytes, key: SigningKey, protected: bytes | None = None) -> bytes:
    """COSE_Sign1 (tag 18) over an already-encoded CWT."""
    protected = protected if protected is not None else protected_header(key)
    signature = _sign(key, _sig_structure(protected, payload))
    return cbor2.dumps(cbor2.CBORTag(TAG_SIGN1, [protected, {}, payload, signature]))


def encrypt0(plaintext: bytes, key: bytes, iv: bytes) -> bytes:
    """COSE_Encrypt0 (tag 16) with AES-GCM; the IV must never repeat under one key."""
    alg = {16: 1, 24: 2, 32: 3}[len(key)]
    protected = cbor2.dumps({HDR_ALG: alg})
    aad = cbor2.dumps(["Encrypt0", protected, b""])
    return cbor2.dumps(cbor2.CBORTag(TAG_ENCRYPT0, [protected, {HDR_IV: iv}, AESGCM(key).encrypt(iv, plaintext, aad)]))


def wrap(cose: bytes) -> str:
    """zlib then Base45: the text a QR code carries (see `deflate` for the compressor's settings)."""
    return b45encode(deflate(cose))


def encode(
    claims: dict[str, Any],
    key: SigningKey,
    *,
    issuer: str,
    issued_at: int | None = None,
    expires_at: int | None = None,
    subject: str | None = None,
    status: tuple[int, str] | None = None,
    encryption_key: bytes | None = None,
    iv: bytes | None = None,
) -> str:
    """The QR text for `claims` (names as in DEMOGRAPHICS), signed by `key`."""
    payload = cwt_payload(
        claims,
        issuer=issuer,
        issued_at=int(time.time()) if issued_at is None else issued_at,
        expires_at=expires_at,
        subject=subject,
        status=status,
    )
    cose = sign_payload(payload, key)
    if encryption_key is not None:
        if iv is None:
            raise ValueError("an encrypted code needs a fresh 12-byte IV")
        cose = encrypt0(cose, encryption_key, iv)
    return wrap(cose)


# ---- many codes at once (print batches, bulk issuance) --------------------------------------------------------


def _head(major: int, n: int) -> bytes:
    """A CBOR item head (RFC 8949 3.1) for lengths and unsigned integers."""
    if n < 24:
        return bytes((major << 5 | n,))
    if n < 0x100:
        return bytes((major << 5 | 24, n))
    if n < 0x10000:
        return bytes((major << 5 | 25,)) + n.to_bytes(2, "big")
    if n < 0x100000000:
        return bytes((major << 5 | 26,)) + n.to_bytes(4, "big")
    return bytes((major << 5 | 27,)) + n.to_bytes(8, "big")


# zlib's stream header for "deflate, 32 KiB window, maximum compression" (78 DA); the deflate data itself uses a
# 512-byte window: a card's code is smaller than that, so it compresses exactly as well, while setting up the
# compressor costs half as much. Any zlib reader accepts it: the header's window is the most the data may use.
_ZLIB_HEADER = b"\x78\xda"


def deflate(data: bytes) -> bytes:
    """zlib (RFC 1950) of a small payload, byte-identical in content to what any inflater gets back."""
    deflater = zlib.compressobj(9, zlib.DEFLATED, -9, 1)
    return _ZLIB_HEADER + deflater.compress(data) + deflater.flush() + zlib.adler32(data).to_bytes(4, "big")


class BatchSigner:
    """Claim 169 QR texts for many cards with one key, issuer and issue time: the same bytes `encode` produces
    (tests compare them), built with the constant parts of the CWT, the Sig_structure and the COSE_Sign1 encoded
    once, so the cost per card is little more than the signature itself. `fields` names the claims of each row, in
    order; a row is (values, expires_at, status_index)."""

    def __init__(
        self,
        key: SigningKey,
        *,
        issuer: str,
        issued_at: int,
        fields: tuple[str, ...],
        status_uri: str | None = None,
    ) -> None:
        self.key = key
        self.fields = tuple(fields)
        unknown = [name for name in self.fields if name not in NAME_TO_KEY]
        if unknown:
            raise ValueError(f"{', '.join(map(repr, unknown))} are not Claim 169 fields")
        self._keys = tuple(NAME_TO_KEY[name] for name in self.fields)
        # Text-only rows (the default field set) skip the per-type conversion of claims_to_map.
        self._plain = all(
            NAME_TO_KEY[name] not in BIOMETRICS
            and name not in INT_FIELDS
            and name not in ("photo", "bestQualityFingers")
            for name in self.fields
        )
        self.status_uri = status_uri
        protected = protected_header(key)
        self._iss = _head(0, CWT_ISS) + cbor2.dumps(issuer)
        self._iat = _head(0, CWT_IAT) + cbor2.dumps(int(issued_at))
        self._claim_key = cbor2.dumps(CLAIM_KEY)
        self._exp: dict[int, bytes] = {}
        self._status_prefix = b""
        self._status_suffix = b""
        if status_uri is not None:
            # {65535: {"status_list": {"idx": <n>, "uri": <uri>}}}, split around the index.
            marker = 0x7FFF_FFFF
            whole = cbor2.dumps({CWT_STATUS: {"status_list": {"idx": marker, "uri": status_uri}}})[1:]
            cut = whole.index(cbor2.dumps(marker))
            self._status_prefix = whole[:cut]
            self._status_suffix = whole[cut + len(cbor2.dumps(marker)) :]
        self._sig_prefix = b"\x84" + cbor2.dumps("Signature1") + cbor2.dumps(protected) + b"\x40"
        self._cose_prefix = b"\xd2\x84" + cbor2.dumps(protected) + b"\xa0"

    def payload(self, values: tuple, expires_at: int | None, status_index: int | None) -> bytes:
        """The CWT for one row, as `cwt_payload` encodes it."""
        if self._plain:
            claims = cbor2.dumps(
                {k: str(v) for k, v in zip(self._keys, values, strict=True) if v is not None and v != ""}
            )
        else:
            claims = cbor2.dumps(claims_to_map(dict(zip(self.fields, values, strict=True))))
        status = self.status_uri is not None and status_index is not None
        entries = 3 + (expires_at is not None) + status
        parts = [_head(5, entries), self._iss]
        if expires_at is not None:
            exp = self._exp.get(expires_at)
            if exp is None:  # most cards of a batch share a few expiry dates
                exp = self._exp[expires_at] = _head(0, CWT_EXP) + cbor2.dumps(int(expires_at))
            parts.append(exp)
        parts += [self._iat, self._claim_key, claims]
        if status:
            parts += [self._status_prefix, cbor2.dumps(int(status_index)), self._status_suffix]
        return b"".join(parts)

    def sign_many(self, rows) -> list[str]:
        """QR texts for `rows` (an iterable of (values, expires_at, status_index)), in order. The loop inlines
        `payload` for text-only rows: at a million cards, each Python call saved is a second."""
        key = self.key
        sign = key.private_key.sign if key.alg == "EdDSA" else (lambda message: _sign(key, message))
        sig_prefix, cose_prefix, keys = self._sig_prefix, self._cose_prefix, self._keys
        dumps, compressobj, adler32 = cbor2.dumps, zlib.compressobj, zlib.adler32
        plain = self._plain and self.status_uri is not None
        iss, iat, claim_key, exp_cache = self._iss, self._iat, self._claim_key, self._exp
        status_prefix, status_suffix = self._status_prefix, self._status_suffix
        compressed = []
        append = compressed.append
        for values, expires_at, status_index in rows:
            if plain and expires_at is not None and status_index is not None:
                exp = exp_cache.get(expires_at)
                if exp is None:
                    exp = exp_cache[expires_at] = _head(0, CWT_EXP) + dumps(int(expires_at))
                claims = dumps({k: str(v) for k, v in zip(keys, values, strict=True) if v is not None and v != ""})
                payload = b"".join(
                    (b"\xa5", iss, exp, iat, claim_key, claims, status_prefix, dumps(status_index), status_suffix)
                )
            else:
                payload = self.payload(values, expires_at, status_index)
            length = _head(2, len(payload))
            cose = b"".join((cose_prefix, length, payload, b"\x58\x40", sign(sig_prefix + length + payload)))
            deflater = compressobj(9, zlib.DEFLATED, -9, 1)
            append(
                b"".join((_ZLIB_HEADER, deflater.compress(cose), deflater.flush(), adler32(cose).to_bytes(4, "big")))
            )
        return b45encode_many(compressed)


# ---- verifying -------------------------------------------------------------------------------------------------


def _verify(key: VerificationKey, message: bytes, signature: bytes) -> bool:
    try:
        if key.alg == "EdDSA":
            key.public_key.verify(signature, message)
        else:
            if len(signature) != 64:
                return False
            der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
            key.public_key.verify(der, message, ec.ECDSA(hashes.SHA256()))
        return True
    except InvalidSignature:
        return False


def _untag(obj: Any, tag: int) -> Any:
    return obj.value if isinstance(obj, cbor2.CBORTag) and obj.tag == tag else obj


def _header(protected: bytes, unprotected: Any) -> dict:
    try:
        header = cbor2.loads(protected) if protected else {}
    except Exception:
        raise Claim169Error("cose", "(protected header is not CBOR)") from None
    if not isinstance(header, Mapping) or not isinstance(unprotected, Mapping):
        raise Claim169Error("cose", "(headers are not maps)")
    return {**unprotected, **header}  # protected wins


def _decrypt(obj: list, keys: list[bytes]) -> bytes:
    if len(obj) != 3 or not isinstance(obj[0], bytes) or not isinstance(obj[2], bytes):
        raise Claim169Error("cose", "(malformed COSE_Encrypt0)")
    header = _header(obj[0], obj[1])
    iv = header.get(HDR_IV)
    if header.get(HDR_ALG) not in AES_GCM or not isinstance(iv, bytes):
        raise Claim169Error("decryption", "(only AES-GCM with an IV is supported)")
    aad = cbor2.dumps(["Encrypt0", obj[0], b""])
    for key in keys:
        if len(key) != AES_GCM[header[HDR_ALG]]:
            continue
        try:
            return AESGCM(key).decrypt(iv, obj[2], aad)
        except InvalidTag:
            continue
    raise Claim169Error("decryption")


def _loads(data: bytes) -> Any:
    try:
        return cbor2.loads(data)
    except Exception:
        raise Claim169Error("cose", "(not CBOR)") from None


def decode(
    text: str,
    keys: list[VerificationKey] | None = None,
    *,
    decryption_keys: list[bytes] | None = None,
    require_signature: bool = True,
    now: int | None = None,
    check_times: bool = True,
    leeway: int = 0,
) -> Decoded:
    """Scanned QR text to verified claims. Refuses (Claim169Error) a damaged, unsigned, forged, expired or
    not-yet-valid code; `require_signature=False` reads unsigned codes (the official test vectors, never a card)."""
    try:
        compressed = b45decode(text.strip())
    except Base45Error as exc:
        raise Claim169Error("base45", f"({exc})") from None
    try:
        inflater = zlib.decompressobj()
        cose = inflater.decompress(compressed, MAX_DECOMPRESSED)
        if inflater.unconsumed_tail:
            raise Claim169Error("too_large")
        if not inflater.eof:
            raise zlib.error("truncated")
    except zlib.error as exc:
        raise Claim169Error("decompress", f"({exc})") from None

    obj = _loads(cose)
    encrypted = False
    if isinstance(obj, cbor2.CBORTag) and obj.tag == TAG_ENCRYPT0:
        obj = _loads(_decrypt(list(obj.value), decryption_keys or []))
        encrypted = True
        if isinstance(_untag(obj, TAG_CWT), Mapping):
            # Encrypted but not signed (the official "encrypted-aes256" vector): the plaintext is the CWT itself.
            obj = [b"", {}, cbor2.dumps(obj), b""]
    obj = _untag(obj, TAG_SIGN1)
    if not isinstance(obj, (list, tuple)) or len(obj) != 4:
        raise Claim169Error("cose", "(expected COSE_Sign1)")
    protected, unprotected, payload, signature = obj
    if not isinstance(protected, bytes) or not isinstance(payload, bytes) or not isinstance(signature, bytes):
        raise Claim169Error("cose", "(COSE_Sign1 fields have the wrong types)")
    header = _header(protected, unprotected)
    alg = ALG_NAMES.get(header.get(HDR_ALG))
    kid_raw = header.get(HDR_KID)
    kid = kid_raw.decode("utf-8", "replace") if isinstance(kid_raw, bytes) else kid_raw

    verified = False
    if signature:
        if alg is None:
            raise Claim169Error("unsupported_algorithm", f"(COSE alg {header.get(HDR_ALG)!r})")
        candidates = [k for k in keys or [] if k.alg == alg and (kid is None or k.kid is None or k.kid == kid)]
        if not candidates:
            if require_signature:
                raise Claim169Error("unknown_key", f"(key id {kid!r})" if kid else "")
        else:
            message = _sig_structure(protected, payload)
            if not any(_verify(k, message, signature) for k in candidates):
                raise Claim169Error("bad_signature")
            verified = True
    elif require_signature:
        raise Claim169Error("unsigned")

    cwt = _untag(_loads(payload), TAG_CWT)
    if not isinstance(cwt, Mapping):
        raise Claim169Error("cwt", "(payload is not a map)")
    raw = cwt.get(CLAIM_KEY)
    if not isinstance(raw, Mapping):
        raise Claim169Error("claim169_missing")
    claims, unknown = map_to_claims(raw)
    status = cwt.get(CWT_STATUS)
    status_list = status.get("status_list") if isinstance(status, Mapping) else None
    if not isinstance(status_list, Mapping):
        status_list = {}
    result = Decoded(
        claims=claims,
        issuer=cwt.get(CWT_ISS),
        subject=cwt.get(CWT_SUB),
        issued_at=cwt.get(CWT_IAT),
        not_before=cwt.get(CWT_NBF),
        expires_at=cwt.get(CWT_EXP),
        kid=kid,
        alg=alg,
        verified=verified,
        encrypted=encrypted,
        unknown=unknown,
        status_index=status_list.get("idx") if isinstance(status_list.get("idx"), int) else None,
        status_uri=status_list.get("uri") if isinstance(status_list.get("uri"), str) else None,
    )
    if check_times:
        moment = int(time.time()) if now is None else now
        if result.expires_at is not None and moment > result.expires_at + leeway:
            raise Claim169Error("expired", f"(on {time.strftime('%Y-%m-%d', time.gmtime(result.expires_at))})")
        if result.not_before is not None and moment + leeway < result.not_before:
            raise Claim169Error("not_yet_valid", f"(from {time.strftime('%Y-%m-%d', time.gmtime(result.not_before))})")
    return result


def ed25519_public(raw: bytes) -> ed25519.Ed25519PublicKey:
    return ed25519.Ed25519PublicKey.from_public_bytes(raw)


def p256_public(raw: bytes) -> ec.EllipticCurvePublicKey:
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
