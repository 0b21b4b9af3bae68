"""Card printing at scale: the batch QR encoder gives segno's modules exactly, the PDF's vector QR codes read back
(zxing-cpp) to the signed text, and the streamed faces of a print batch carry the same codes as one card at a time."""

from __future__ import annotations

import datetime
import random
import re
import zlib

import pytest
import segno
import zxingcpp
from PIL import Image

from programs.credentials import claim169, keys, selectors
from programs.credentials.base45 import ALPHABET
from programs.credentials.documents import CardFace, cards_pdf, qr_path
from programs.credentials.models import Card, StatusList
from programs.credentials.qrbatch import BORDER, qr_matrices
from tests.factories import HouseholdFactory, IndividualFactory, MembershipFactory
from tests.programs.factories_credentials import world  # noqa: F401 (fixture)


def segno_modules(text: str) -> tuple[int, bytes]:
    code = segno.make_qr(text, error="m", boost_error=False, mask=4)
    side = len(code.matrix) + 2 * BORDER
    blank = bytes(side * BORDER)
    body = b"".join(bytes(BORDER) + bytes(row) + bytes(BORDER) for row in code.matrix)
    return side, blank + body + blank


def test_batch_matrices_equal_segno_module_for_module():
    rng = random.Random(14)
    # Short and long, odd and even, lengths whose bits end on a byte boundary, several versions in one batch.
    lengths = [1, 2, 3, 10, 71, 106, 201, 315, 318, 350, 363, 393, 411, 414, 600, 1200]
    texts = ["".join(rng.choice(ALPHABET) for _ in range(n)) for n in lengths] + ["0123456789", "12"]
    assert qr_matrices(texts) == [segno_modules(t) for t in texts]


def raster(side: int, path: str, px: int = 4) -> Image.Image:
    """Our `re` operators (module units, y down) painted back into an image, white around."""
    image = Image.new("L", (side * px, side * px), 255)
    for x, y, w in re.findall(r"(\d+) (\d+) (\d+) 1 re", path):
        x, y, w = int(x), int(y), int(w)
        image.paste(0, (x * px, y * px, (x + w) * px, (y + 1) * px))
    return image


def signed_texts(n: int) -> list[str]:
    key = keys.signing_key()
    signer = claim169.BatchSigner(
        key, issuer="https://spmis.example", issued_at=1_770_000_000, fields=("id", "fullName", "cardCode")
    )
    return signer.sign_many(((f"I{i:06d}", f"Amina Rahman {i}", f"CRD-{i}"), 1_830_000_000, None) for i in range(n))


def test_vector_qr_reads_back_to_the_signed_text():
    (text,) = signed_texts(1)
    ((side, modules),) = qr_matrices([text])
    path = qr_path((side, modules))
    assert len(re.findall(" re", path)) < sum(modules)  # runs, not one rectangle a module
    found = zxingcpp.read_barcodes(raster(side, path))
    assert [r.text for r in found] == [text]


def test_pdf_from_a_generator_holds_every_code_page_by_page():
    texts = signed_texts(12)
    faces = (
        CardFace("Flood relief — Sylhet", f"আমিনা {i}", f"I{i:06d}", f"CRD-{i}", "2027-12-31", t)
        for i, t in enumerate(texts)
    )
    pdf = cards_pdf(faces, chunk=5)
    assert pdf.startswith(b"%PDF")
    streams = [zlib.decompress(m) for m in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S) if m[:1] == b"x"]
    blocks = [
        m for s in streams for m in re.findall(rb"q 0 g ([\d.]+) 0 0 -[\d.]+ [\d.]+ [\d.]+ cm (.*?) f Q", s, re.S)
    ]
    assert len(blocks) == 12 and pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") >= 2
    read = []
    for scale, path in blocks:
        side = round(33.0 / 25.4 * 72 / float(scale))  # QR_MM in points over the module size in points
        read += [r.text for r in zxingcpp.read_barcodes(raster(side, path.decode()))]
    assert read == texts


@pytest.mark.django_db
def test_streamed_faces_carry_the_codes_of_one_card_at_a_time(world):  # noqa: F811
    program, household, head, requester, _approver, west, _ = world
    area = west
    cards = []
    for n in range(3):
        hh = household if n == 0 else HouseholdFactory()
        person = head
        if n:
            person = IndividualFactory(given_name=f"Rahim{n}", family_name="Uddin", sex="M")
            MembershipFactory(household=hh, individual=person, role="head")
        cards.append(
            Card.objects.create(
                code=f"CRD-T{n}",
                program=program,
                household=hh,
                individual=person if n == 2 else None,  # one card for a person, two for households (their heads)
                area=area,
                status_list=StatusList.objects.get_or_create(size=131072, defaults={"bits": bytes(16384)})[0],
                status_index=7 + n,
                expires_on=datetime.date(2028, 6, 30),
                requested_by=requester.user,
            )
        )
    queryset = Card.objects.filter(pk__in=[c.pk for c in cards]).order_by("pk")
    faces = list(selectors.card_faces(queryset, reprints={cards[1].pk}, issued_at=1_770_000_000))
    assert [f.qr_text for f in faces] == [selectors.card_qr_text(c, issued_at=1_770_000_000) for c in cards]
    assert [f.name for f in faces] == ["Amina Rahman", "Rahim1 Uddin", "Rahim2 Uddin"]
    assert [f.reprint for f in faces] == [False, True, False]
    assert faces[2].registrant_id != cards[2].household.registrant_id  # the individual's own ID
    decoded = claim169.decode(faces[0].qr_text, keys.verification_keys(), now=1_770_000_000)
    assert decoded.status_index == 7 and decoded.claims["cardCode"] == "CRD-T0"
