"""Writes for payments: providers, and account changes that a second person approves before they apply."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from psycopg import sql

from geo.models import Area
from geo.selectors import scope_queryset, user_area_ids
from programs.payments import crypto
from programs.payments.models import FinancialServiceProvider, PaymentAccount, PaymentAccountChange
from programs.payments.validation import normalise_account, validate_bank_code
from registry.models import Household

APPROVE_PERMISSION = "programs.approve_paymentaccountchange"
FSP_FIELDS = (
    "name",
    "kind",
    "currency",
    "bic",
    "bank_code",
    "wallet_provider",
    "file_format",
    "transport",
    "max_per_transaction",
    "max_per_batch",
    "fee_percent",
    "fee_fixed",
    "debtor_name",
    "debtor_account",
    "debtor_bic",
    "connection",
    "active",
)


def _clean_fsp(fields: dict) -> dict:
    cleaned = dict(fields)
    if "currency" in cleaned:
        code = (cleaned["currency"] or "").upper()
        if len(code) != 3 or not code.isalpha():
            raise ValidationError({"currency": f"{cleaned['currency']!r} is not an ISO 4217 three-letter code."})
        cleaned["currency"] = code
    if "bank_code" in cleaned:
        cleaned["bank_code"] = validate_bank_code(cleaned["bank_code"])
    for field in ("max_per_transaction", "max_per_batch"):
        if cleaned.get(field) is not None and Decimal(cleaned[field]) <= 0:
            raise ValidationError({field: "A limit is more than zero (leave it empty for none)."})
    if cleaned.get("fee_percent") is not None and not 0 <= Decimal(cleaned["fee_percent"]) <= 100:
        raise ValidationError({"fee_percent": "A percentage between 0 and 100."})
    if cleaned.get("fee_fixed") is not None and Decimal(cleaned["fee_fixed"]) < 0:
        raise ValidationError({"fee_fixed": "A fee is not negative."})
    return cleaned


def _check_connection(fsp: FinancialServiceProvider) -> None:
    """The connector settings must work for the transport (a base URL for an API, two folders for a drop)."""
    from programs.payments.connectors import ConnectorConfig, ConnectorConfigError

    if not isinstance(fsp.connection, dict):
        raise ValidationError({"connection": 'An object of connector settings, such as {"base_url": "https://…"}.'})
    if "password" in fsp.connection:
        raise ValidationError({"connection.password": "Passwords are not stored: name the variable in password_env."})
    try:
        ConnectorConfig.from_dict({**fsp.connection, "transport": fsp.transport})
    except ConnectorConfigError as error:
        raise ValidationError({f"connection.{error.field}": error.problem}) from None
    except (TypeError, ValueError) as error:
        raise ValidationError({"connection": f"Not valid connector settings: {error}."}) from None


def _check_kind_identifiers(fsp: FinancialServiceProvider) -> None:
    if fsp.kind == FinancialServiceProvider.Kind.MOBILE_MONEY and not fsp.wallet_provider:
        raise ValidationError({"wallet_provider": "A mobile money provider names its wallet provider."})
    if fsp.kind == FinancialServiceProvider.Kind.BANK and not (fsp.bic or fsp.bank_code):
        raise ValidationError({"bank_code": "A bank is identified by its Bangladesh bank code or its BIC."})
    _check_connection(fsp)
    if fsp.bic:
        from schwifty import BIC
        from schwifty.exceptions import SchwiftyException

        try:
            fsp.bic = BIC(fsp.bic).compact
        except SchwiftyException as error:
            raise ValidationError({"bic": f"Not a valid BIC: {error}."}) from None


@transaction.atomic
def fsp_create(*, user, code: str, areas: Iterable[Area] = (), **fields) -> FinancialServiceProvider:
    if FinancialServiceProvider.objects.filter(code=code).exists():
        raise ValidationError({"code": f"A provider with code {code} exists already."})
    fsp = FinancialServiceProvider(code=code, **_clean_fsp({k: v for k, v in fields.items() if k in FSP_FIELDS}))
    _check_kind_identifiers(fsp)
    fsp.save()
    fsp.areas.set(list(areas))
    return fsp


@transaction.atomic
def fsp_update(*, fsp: FinancialServiceProvider, user, areas: Iterable[Area] | None = None, **fields):
    fsp = FinancialServiceProvider.objects.select_for_update().get(pk=fsp.pk)
    for field, value in _clean_fsp({k: v for k, v in fields.items() if k in FSP_FIELDS}).items():
        setattr(fsp, field, value)
    _check_kind_identifiers(fsp)
    fsp.save()
    if areas is not None:
        fsp.areas.set(list(areas))
    return fsp


def _household_in_scope(user, household: Household) -> None:
    if user_area_ids(user) is None:
        return
    if not scope_queryset(Household.objects.filter(pk=household.pk), user).exists():
        raise ValidationError({"household": "No such household among those you can see."})


@transaction.atomic
def payment_account_change_request(
    *,
    user,
    household: Household,
    fsp: FinancialServiceProvider,
    kind: str,
    holder_name: str,
    number: str,
    routing_number: str = "",
    bic: str = "",
    reason: str = "",
) -> PaymentAccountChange:
    """Propose a household's account (new or replacing the current one). The plain number is validated, normalised
    and encrypted here; it is never stored."""
    _household_in_scope(user, household)
    holder_name = (holder_name or "").strip()
    if not holder_name:
        raise ValidationError({"holder_name": "Name the account holder."})
    normalised = normalise_account(kind=kind, fsp=fsp, number=number, routing_number=routing_number, bic=bic)
    if PaymentAccountChange.objects.filter(household=household, status=PaymentAccountChange.Status.PENDING).exists():
        raise ValidationError({"household": "This household has an account change waiting for review already."})
    ciphertext, key_id = crypto.encrypt(normalised.number)
    return PaymentAccountChange.objects.create(
        household=household,
        fsp=fsp,
        kind=kind,
        holder_name=holder_name,
        routing_number=normalised.routing_number,
        bic=normalised.bic,
        number_ciphertext=ciphertext,
        number_key_id=key_id,
        blind_index=crypto.blind_index(normalised.index_input),
        reason=reason,
        requested_by=user,
    )


def _review(change: PaymentAccountChange, user) -> PaymentAccountChange:
    change = PaymentAccountChange.objects.select_for_update().get(pk=change.pk)
    _household_in_scope(user, change.household)
    if not user.has_perm(APPROVE_PERMISSION):
        raise PermissionDenied("Reviewing account changes needs the account change approval permission.")
    if change.status != PaymentAccountChange.Status.PENDING:
        raise ValidationError({"status": f"Only pending changes are reviewed; this one is {change.status}."})
    if change.requested_by_id == user.pk:
        raise ValidationError(
            {"reviewed_by": "You requested this account change: another officer must review it (four eyes)."}
        )
    return change


@transaction.atomic
def payment_account_change_approve(*, change: PaymentAccountChange, user, note: str = "") -> PaymentAccount:
    """Approve and apply: the household's account is created or replaced in the same transaction."""
    change = _review(change, user)
    now = timezone.now()
    change.status = PaymentAccountChange.Status.APPROVED
    change.reviewed_by = user
    change.reviewed_at = now
    change.review_note = note
    change.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_note"])
    account, _ = PaymentAccount.objects.update_or_create(
        household_id=change.household_id,
        defaults={
            "fsp_id": change.fsp_id,
            "kind": change.kind,
            "holder_name": change.holder_name,
            "routing_number": change.routing_number,
            "bic": change.bic,
            "number_ciphertext": change.number_ciphertext,
            "number_key_id": change.number_key_id,
            "blind_index": change.blind_index,
            "changed_at": now,
            "last_change": change,
        },
    )
    return account


@transaction.atomic
def payment_account_change_reject(*, change: PaymentAccountChange, user, note: str = "") -> PaymentAccountChange:
    change = _review(change, user)
    if not note.strip():
        raise ValidationError({"note": "Say why the change is rejected."})
    change.status = PaymentAccountChange.Status.REJECTED
    change.reviewed_by = user
    change.reviewed_at = timezone.now()
    change.review_note = note
    change.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_note"])
    return change


# Changes first: an approval copies a change's ciphertext onto the account, so once the changes are under the current
# key every later approval writes current-key accounts, and the pass over the accounts catches the earlier ones.
ROTATED_TABLES = ("programs_paymentaccountchange", "programs_paymentaccount")


def account_keys_rotate(*, chunk: int = 1000) -> dict[str, int]:
    """Re-encrypt every account number (and proposed number) not under the current key, `chunk` rows per
    transaction. The database cannot do AES-GCM with a key it must never hold, so each chunk is read in one
    indexed query (number_key_id <> current, keyset by id), re-encrypted in memory and written back in one
    UPDATE ... FROM unnest(ids, ciphertexts); rows written meanwhile under the current key are simply skipped.
    Safe to stop and run again. Returns rows re-encrypted per table."""
    current = crypto.current_key_id()
    done: dict[str, int] = {}
    for table in ROTATED_TABLES:
        done[table] = 0
        last_id = 0
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    sql.SQL(
                        "SELECT id, number_ciphertext FROM {} WHERE number_key_id <> %s AND id > %s"
                        " ORDER BY id LIMIT %s FOR UPDATE"
                    ).format(sql.Identifier(table)),
                    [current, last_id, chunk],
                )
                rows = cursor.fetchall()
                if not rows:
                    break
                ids = [row[0] for row in rows]
                ciphertexts = [crypto.encrypt(crypto.decrypt(row[1]))[0] for row in rows]
                cursor.execute(
                    sql.SQL(
                        "UPDATE {} t SET number_ciphertext = n.c, number_key_id = %s"
                        " FROM unnest(%s::bigint[], %s::bytea[]) AS n(id, c) WHERE t.id = n.id"
                    ).format(sql.Identifier(table)),
                    [current, ids, ciphertexts],
                )
                done[table] += len(ids)
                last_id = ids[-1]
    return done


def account_blind_index_rebuild(*, chunk: int = 1000) -> dict[str, int]:
    """Recompute every blind index (accounts and proposed changes) under the current SPMIS_ACCOUNT_INDEX_KEY, after
    the index key was changed. Each chunk is read by id, its numbers decrypted and normalised again in memory, and
    written back in one UPDATE; the index key never enters the database. Recomputing is idempotent, so the command
    can be stopped and run again. Returns rows recomputed per table."""
    from programs.payments.validation import index_input

    done: dict[str, int] = {}
    for table in ROTATED_TABLES:
        done[table] = 0
        last_id = 0
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    sql.SQL(
                        "SELECT id, kind, routing_number, number_ciphertext FROM {} WHERE id > %s"
                        " ORDER BY id LIMIT %s FOR UPDATE"
                    ).format(sql.Identifier(table)),
                    [last_id, chunk],
                )
                rows = cursor.fetchall()
                if not rows:
                    break
                ids = [row[0] for row in rows]
                indexes = [
                    crypto.blind_index(index_input(kind, routing, crypto.decrypt(ciphertext)))
                    for _id, kind, routing, ciphertext in rows
                ]
                cursor.execute(
                    sql.SQL(
                        "UPDATE {} t SET blind_index = n.b FROM unnest(%s::bigint[], %s::text[]) AS n(id, b)"
                        " WHERE t.id = n.id AND t.blind_index IS DISTINCT FROM n.b"
                    ).format(sql.Identifier(table)),
                    [ids, indexes],
                )
                done[table] += len(ids)
                last_id = ids[-1]
    return done
