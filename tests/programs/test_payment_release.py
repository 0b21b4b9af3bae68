"""Releasing a batch split into several files: the files are validated beside the writing, and a file that does not
validate fails the release with nothing published, after which the same release runs again."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from programs.payments.files import pain001
from programs.payments.files.xsd import validate_file
from programs.payments.models import PaymentBatch, PaymentBatchRun, PaymentFile
from programs.payments.services.batches import batch_run_execute
from tests.programs.test_payment_flow import bank_world  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def _new_batch(world, **fields) -> PaymentBatch:
    return PaymentBatch.objects.create(
        cycle=world.cycle,
        program=world.cycle.program,
        fsp=world.fsp,
        currency="BDT",
        execution_date=world.cycle.starts_on.today(),
        prepared_by=world.officer,
        **fields,
    )


def _run(batch: PaymentBatch, kind: str, user) -> PaymentBatchRun:
    return batch_run_execute(run_id=PaymentBatchRun.objects.create(batch=batch, kind=kind, created_by=user).pk)


def test_a_file_that_does_not_validate_fails_the_release_and_no_file_of_it_is_published(bank_world, monkeypatch):  # noqa: F811
    world = bank_world
    batch = _new_batch(world, max_per_file=3)
    assert _run(batch, "prepare", world.officer).status == "succeeded"
    write = pain001.write_pain001
    written: list[Path] = []

    def second_file_broken(path, header, transfers, **options):
        summary = write(path, header, transfers, **options)
        written.append(Path(path))
        if len(written) == 2:  # a creditor without a name, which the XSD refuses (Max140Text has a minimum of 1)
            data = Path(path).read_bytes()
            name = data.split(b"<Cdtr><Nm>", 1)[1].split(b"</Nm>", 1)[0]
            Path(path).write_bytes(data.replace(b"<Cdtr><Nm>" + name + b"</Nm>", b"<Cdtr><Nm></Nm>", 1))
        return summary

    monkeypatch.setattr(pain001, "write_pain001", second_file_broken)
    run = _run(batch, "release", world.finance)
    assert run.status == "failed"
    (message,) = run.error["file"]
    assert f"{batch.code}-A1-F002.xml is not valid pain.001.001.09 and was not released" in message
    assert "Nm" in message and "line " in message
    assert len(written) == 3  # every file was written (and handed to the validator) before the verdicts
    folder = Path(settings.MEDIA_ROOT) / "payments" / batch.code
    assert sorted(folder.iterdir()) == []  # neither a published file nor a temporary one is left
    batch.refresh_from_db()
    assert (batch.status, batch.attempt, PaymentFile.objects.filter(batch=batch).count()) == ("prepared", 0, 0)

    monkeypatch.setattr(pain001, "write_pain001", write)
    assert _run(batch, "release", world.finance).status == "succeeded"
    files = list(PaymentFile.objects.filter(batch=batch).order_by("sequence"))
    assert [f.msg_id for f in files] == [f"{batch.code}-A1-F{n:03d}" for n in range(1, len(files) + 1)]
    assert len(files) >= 3 and sum(f.nb_of_txs for f in files) == batch.payment_count
    for file in files:
        path = Path(settings.MEDIA_ROOT) / file.path
        assert validate_file(path, "pain.001.001.09") == []
        assert file.size_bytes == path.stat().st_size


def test_a_preparation_that_meets_a_payment_made_meanwhile_fails_in_words_and_pays_nothing(bank_world, monkeypatch):  # noqa: F811
    # Another batch paid the cycle's entitlements after this preparation looked for earlier payments (simulated by
    # hiding them from that look): the one-live-payment index refuses the copy, and the job says so.
    from programs.payments.models import Payment
    from programs.payments.services import batches

    world = bank_world

    first = _new_batch(world)
    assert _run(first, "prepare", world.officer).status == "succeeded"
    assert _run(first, "release", world.finance).status == "succeeded"  # no longer open: a second may be made
    paid = Payment.objects.count()
    hidden = tuple(s.replace("WHERE b.cycle_id = %(cycle)s", "WHERE false") for s in batches.BEFORE_PREPARE_SQL)
    monkeypatch.setattr(batches, "BEFORE_PREPARE_SQL", hidden)
    second = _new_batch(world)
    run = _run(second, "prepare", world.officer)
    assert run.status == "failed"
    assert "Another batch took some of these entitlements" in run.error["batch"][0]
    assert "programs_payment_one_live" in run.error["batch"][0]
    second.refresh_from_db()
    assert second.status == "cancelled" and Payment.objects.count() == paid


def test_an_account_changed_after_preparation_stops_the_release_before_any_file_is_named(bank_world):  # noqa: F811
    from django.utils import timezone

    from programs.payments.models import Payment, PaymentAccount

    world = bank_world
    batch = _new_batch(world, max_per_file=3)
    assert _run(batch, "prepare", world.officer).status == "succeeded"
    # The fifth payment (in the second file) is to an account corrected after the batch was reviewed.
    changed = Payment.objects.filter(batch=batch).order_by("pk")[4]
    PaymentAccount.objects.filter(pk=changed.account_id).update(changed_at=timezone.now())
    run = _run(batch, "release", world.finance)
    assert run.status == "failed"
    (message,) = run.error["batch"]
    assert f"Accounts changed after the batch was prepared (households {changed.household_id})" in message
    assert sorted((Path(settings.MEDIA_ROOT) / "payments" / batch.code).iterdir()) == []
    batch.refresh_from_db()
    assert (batch.status, PaymentFile.objects.filter(batch=batch).count()) == ("prepared", 0)
