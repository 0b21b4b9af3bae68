"""Writes for payments, one module per concern: providers and accounts (accounts), batches (batches), the files
(files), sending them (sending), the ledger (ledger), and the providers' status reports (reconciliation)."""

from programs.payments.services.accounts import (
    APPROVE_PERMISSION,
    FSP_FIELDS,
    account_blind_index_rebuild,
    account_keys_rotate,
    fsp_create,
    fsp_update,
    payment_account_change_approve,
    payment_account_change_reject,
    payment_account_change_request,
)
from programs.payments.services.batches import (
    batch_cancel,
    batch_prepare,
    batch_release,
    batch_run_execute,
)
from programs.payments.services.reconciliation import report_execute, report_upload, reports_fetch
from programs.payments.services.sending import batch_send, file_mark_submitted

__all__ = [
    "APPROVE_PERMISSION",
    "FSP_FIELDS",
    "account_blind_index_rebuild",
    "account_keys_rotate",
    "batch_cancel",
    "batch_prepare",
    "batch_release",
    "batch_run_execute",
    "batch_send",
    "file_mark_submitted",
    "fsp_create",
    "fsp_update",
    "payment_account_change_approve",
    "payment_account_change_reject",
    "payment_account_change_request",
    "report_execute",
    "report_upload",
    "reports_fetch",
]
