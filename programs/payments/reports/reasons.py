"""ISO 20022 reason codes in plain words, for the finance officer reading why a payment failed or came back.

The codes are those of the ISO external code sets ExternalStatusReason1Code (pain.002 `StsRsnInf/Rsn/Cd`) and
ExternalReturnReason1Code (pacs.004 `RtrRsnInf/Rsn/Cd`, camt.054 `RtrInf/Rsn/Cd`); the two sets share most codes and
mean the same by them. The wording is ours: the ISO names shortened to what an officer needs to act on ("account
closed", not "ClosedAccountNumber"). A code missing here is shown with the bank's own text, or as "reason code X".
"""

REASONS: dict[str, str] = {
    # Accounts
    "AC01": "account number incorrect",
    "AC02": "debtor account number invalid",
    "AC03": "creditor account number invalid",
    "AC04": "account closed",
    "AC05": "debtor account closed",
    "AC06": "account blocked",
    "AC07": "creditor account closed",
    "AC13": "debtor account type invalid",
    "AC14": "creditor account type invalid",
    "AC16": "card number invalid",
    # Agents and authorisation
    "AG01": "transaction forbidden on this account",
    "AG02": "bank operation code invalid",
    "AG03": "transaction type not supported",
    "AGNT": "agent (bank) error",
    "CNOR": "creditor's bank not registered in the clearing system",
    "DNOR": "debtor's bank not registered in the clearing system",
    "RC01": "bank identifier incorrect",
    "RC07": "creditor's bank identifier incorrect",
    "RC08": "clearing system member identifier invalid",
    # Amounts and currencies
    "AM01": "amount is zero",
    "AM02": "amount above the allowed maximum",
    "AM03": "currency not allowed",
    "AM04": "insufficient funds",
    "AM05": "duplicate payment",
    "AM06": "amount below the agreed minimum",
    "AM07": "amount blocked",
    "AM09": "amount wrong",
    "AM10": "control sum wrong",
    "AM12": "amount invalid",
    "AM13": "amount above the clearing system limit",
    "AM14": "amount above the agreed limit",
    "AM18": "number of transactions wrong",
    # Beneficiary (end customer)
    "BE01": "name does not match the account",
    "BE04": "creditor address missing",
    "BE05": "initiating party not recognised",
    "BE06": "end customer unknown",
    "BE07": "debtor address missing",
    "MD07": "account holder deceased",
    "CUST": "requested by the customer",
    "MD06": "refund requested by the customer",
    "FOCR": "returned after a cancellation request",
    "FR01": "fraud suspected",
    "NOAS": "no answer from the customer",
    "NOOR": "original transaction never received",
    "UPAY": "payment not justified",
    # Dates and times
    "CH03": "requested execution date too far in the future",
    "CH04": "requested execution date too far in the past",
    "DT01": "date invalid",
    "TM01": "received after the bank's cut-off time",
    # Files and messages
    "DU01": "message identifier not unique",
    "DUPL": "duplicate file",
    "FF01": "file format invalid",
    "FF05": "local instrument code invalid",
    "RF01": "transaction reference not unique",
    "NARR": "see the bank's text",
    # Mandates (direct debits; they can appear on returns)
    "MD01": "no mandate",
    "MS02": "reason not given by the customer",
    "MS03": "reason not given by the bank",
    # Regulatory
    "RR01": "debtor account or identification missing (regulatory)",
    "RR02": "debtor name or address missing (regulatory)",
    "RR03": "creditor name or address missing (regulatory)",
    "RR04": "regulatory reason",
    "SL01": "specific service offered by the debtor's bank",
    "ED05": "settlement failed",
    "ERIN": "extended remittance information option not supported",
}


def reason_words(code: str | None, bank_text: str | None = None) -> str | None:
    """The reason in plain words: our table first, the bank's own text when the code is not in it."""
    if not code:
        return bank_text or None
    words = REASONS.get(code)
    if words:
        return words
    return bank_text or f"reason code {code}"
