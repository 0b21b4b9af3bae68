"""QR code matrices for many card codes at once, module for module what `segno.make_qr(text, error="m",
boost_error=False, mask=4)` builds (tests compare them), for Base45 text (QR alphanumeric mode).

segno is pure Python and spends ~5 ms a code on bit buffers, Reed-Solomon and masking; a 10,000-card print batch is
mostly that. Here the parts that depend only on the QR version (function patterns, format and version information,
the zigzag order of the data modules, the mask, the block interleaving) are computed once per version from segno's
own tables and functions, and the per-code work is a few numpy operations, with Reed-Solomon run for every block of
every code of a version at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import segno
from segno import consts, encoder

ERROR = consts.ERROR_LEVEL_M
MASK = 4  # fixed: choosing the best of eight is most of segno's time; any mask gives a valid code
BORDER = 2  # quiet zone in modules on each side (the card leaves white space around the code too)
_ALNUM = consts.ALPHANUMERIC_CHARS
_VALUE = bytes(_ALNUM.index(c) if c in _ALNUM else 255 for c in range(256))


@dataclass(frozen=True)
class _Layout:
    version: int
    size: int
    count_bits: int  # character count indicator length
    capacity_bits: int  # data bits the version holds at level M
    base: np.ndarray  # (size, size) uint8: function patterns, format and version information; data modules 0
    positions: np.ndarray  # flat indexes of the data modules, in placement order
    mask: np.ndarray  # mask bit of each of those modules
    blocks: tuple[tuple[int, int], ...]  # (data codewords, ec codewords) of each block, in order
    order: np.ndarray  # interleaving: final codeword k is [data..., ec...][order[k]]


def _version_for(length: int) -> int:
    for version in range(1, 41):
        bits = 4 + _count_bits(version) + 11 * (length // 2) + 6 * (length % 2)
        if bits <= consts.SYMBOL_CAPACITY[version][ERROR]:
            return version
    raise ValueError(f"{length} characters do not fit in a QR code at error level M")


def _count_bits(version: int) -> int:
    return 9 if version < 10 else 11 if version < 27 else 13


@cache
def _layout(version: int) -> _Layout:
    size = encoder.calc_matrix_size(version)
    matrix = encoder.make_matrix(size, size)
    encoder.add_finder_patterns(matrix, size, size)
    encoder.add_alignment_patterns(matrix, size, size)
    free = np.array([list(row) for row in matrix], dtype=np.uint8) == 0x2
    # The placement walk of segno's add_codewords (ISO/IEC 18004 7.7.3), recording positions instead of bits.
    positions: list[int] = []
    seen = np.zeros_like(free)
    for right in range(size - 1, 0, -2):
        if right <= 6:
            right -= 1
        for vertical in range(size):
            for z in (0, 1):
                j = right - z
                upwards = ((right & 2) == 0) ^ (j < 6)
                i = size - 1 - vertical if upwards else vertical
                if free[i, j] and not seen[i, j]:
                    seen[i, j] = True
                    positions.append(i * size + j)
    mask_fn = encoder.get_data_mask_functions(False)[MASK]
    mask = np.array([bool(mask_fn(p // size, p % size)) for p in positions], dtype=np.uint8)
    base = [bytearray(0 if v == 0x2 else v for v in row) for row in matrix]
    encoder.add_format_info(base, version, ERROR, MASK)
    encoder.add_version_info(base, version)
    blocks = tuple(
        (ec.num_data, ec.num_total - ec.num_data) for ec in consts.ECC[version][ERROR] for _ in range(ec.num_blocks)
    )
    # Interleave (7.6): the i-th data codeword of each block in turn, then the i-th ec codeword of each block.
    data_total = sum(d for d, _ in blocks)
    data_starts = np.cumsum([0] + [d for d, _ in blocks])[:-1]
    ec_starts = data_total + np.cumsum([0] + [e for _, e in blocks])[:-1]
    order = [data_starts[b] + i for i in range(max(d for d, _ in blocks)) for b, (d, _) in enumerate(blocks) if i < d]
    order += [ec_starts[b] + i for i in range(max(e for _, e in blocks)) for b, (_, e) in enumerate(blocks) if i < e]
    return _Layout(
        version=version,
        size=size,
        count_bits=_count_bits(version),
        capacity_bits=consts.SYMBOL_CAPACITY[version][ERROR],
        base=np.array([list(row) for row in base], dtype=np.uint8),
        positions=np.array(positions, dtype=np.int64),
        mask=mask,
        blocks=blocks,
        order=np.array(order, dtype=np.int64),
    )


@cache
def _generator_table(ec_words: int) -> np.ndarray:
    """(256, ec_words): the generator polynomial's coefficients (leading 1 dropped) times every field element."""
    log, exp = consts.GALIOS_LOG, consts.GALIOS_EXP
    gen = consts.GEN_POLY[ec_words]  # as logarithms, leading term dropped (see segno's make_blocks)
    table = np.zeros((256, ec_words), dtype=np.uint8)
    for coef in range(1, 256):
        table[coef] = [exp[log[coef] + g] for g in gen]
    return table


def _bits(text: str, layout: _Layout) -> np.ndarray:
    """The data codewords (7.4): mode, count, 11 bits a character pair, 6 for an odd last one, terminator, padding."""
    raw = text.encode("ascii")
    values = np.frombuffer(raw.translate(_VALUE), dtype=np.uint8).astype(np.uint16)
    if values.size and values.max() == 255:
        raise ValueError("QR alphanumeric mode holds only Base45 characters")
    n = values.size
    pairs = values[0 : n - 1 : 2] * 45 + values[1:n:2]
    parts = [
        _to_bits(np.array([0b0010], dtype=np.uint16), 4),
        _to_bits(np.array([n], dtype=np.uint16), layout.count_bits),
        _to_bits(pairs, 11),
    ]
    if n % 2:
        parts.append(_to_bits(values[-1:], 6))
    bits = np.concatenate(parts)
    bits = np.concatenate([bits, np.zeros(min(4, layout.capacity_bits - bits.size), dtype=np.uint8)])
    # As segno does: a whole zero byte when the bits already end on a byte boundary (valid: readers stop at the
    # terminator), so that the modules match segno's exactly.
    bits = np.concatenate([bits, np.zeros(8 - bits.size % 8, dtype=np.uint8)])
    data = np.packbits(bits)[: layout.capacity_bits // 8]
    pad = layout.capacity_bits // 8 - data.size
    return np.concatenate([data, np.resize(np.array([0xEC, 0x11], dtype=np.uint8), pad)])


def _to_bits(values: np.ndarray, width: int) -> np.ndarray:
    shifts = np.arange(width - 1, -1, -1, dtype=np.uint16)
    return ((values[:, None] >> shifts) & 1).astype(np.uint8).ravel()


def _reed_solomon(data: np.ndarray, ec_words: int) -> np.ndarray:
    """Error correction codewords for each row of `data` (blocks × data codewords), all rows at once: the LFSR
    form of the polynomial division segno does block by block."""
    table = _generator_table(ec_words)
    remainder = np.zeros((data.shape[0], ec_words), dtype=np.uint8)
    for k in range(data.shape[1]):
        factor = data[:, k] ^ remainder[:, 0]
        remainder[:, :-1] = remainder[:, 1:]
        remainder[:, -1] = 0
        remainder ^= table[factor]
    return remainder


def _segno_matrix(text: str) -> tuple[int, bytes]:
    code = segno.make_qr(text, error="m", boost_error=False, mask=MASK)
    side = len(code.matrix) + 2 * BORDER
    framed = np.zeros((side, side), dtype=np.uint8)
    framed[BORDER:-BORDER, BORDER:-BORDER] = np.array([list(row) for row in code.matrix], dtype=np.uint8)
    return side, framed.tobytes()


def qr_matrices(texts: list[str]) -> list[tuple[int, bytes]]:
    """For each text, (side, one byte per module, 1 = dark, row by row) with a `BORDER`-module quiet zone."""
    out: list[tuple[int, bytes] | None] = [None] * len(texts)
    by_version: dict[int, list[int]] = {}
    for index, text in enumerate(texts):
        if text.isdigit():  # segno writes digits-only text in numeric mode; never a Claim 169 code in practice
            out[index] = _segno_matrix(text)
            continue
        by_version.setdefault(_version_for(len(text)), []).append(index)
    for version, indexes in by_version.items():
        layout = _layout(version)
        data = np.stack([_bits(texts[i], layout) for i in indexes])  # codes × data codewords
        # Every block of a version has the same number of ec codewords, so RS runs over all blocks of all codes
        # together; a shorter block gets a leading zero, which leaves its remainder unchanged.
        ec_words = layout.blocks[0][1]
        assert all(e == ec_words for _, e in layout.blocks)
        longest = max(length for length, _ in layout.blocks)
        padded = np.zeros((len(indexes), len(layout.blocks), longest), dtype=np.uint8)
        start = 0
        for b, (length, _) in enumerate(layout.blocks):
            padded[:, b, longest - length :] = data[:, start : start + length]
            start += length
        ec = _reed_solomon(padded.reshape(-1, longest), ec_words).reshape(len(indexes), -1)
        codewords = np.concatenate([data, ec], axis=1)[:, layout.order]
        bits = np.unpackbits(codewords, axis=1)
        remainder = layout.positions.size - bits.shape[1]
        if remainder:
            bits = np.concatenate([bits, np.zeros((len(indexes), remainder), dtype=np.uint8)], axis=1)
        side = layout.size + 2 * BORDER
        for row, index in enumerate(indexes):
            modules = layout.base.copy().ravel()
            modules[layout.positions] = bits[row] ^ layout.mask
            framed = np.zeros((side, side), dtype=np.uint8)
            framed[BORDER:-BORDER, BORDER:-BORDER] = modules.reshape(layout.size, layout.size)
            out[index] = (side, framed.tobytes())
    return out  # type: ignore[return-value]
