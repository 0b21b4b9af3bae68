"""Payment files, written and checked without the database: ISO 20022 pain.001 (pain001.py), mobile money payout
files (mobile.py), cash agent lists (cash.py), XSD validation in constant memory (xsd.py). The caller (batches,
in programs.payments) reads the rows, decrypts the accounts and passes plain values; these modules never touch a
model."""
