"""Plumbing for long jobs."""

from django.db import DEFAULT_DB_ALIAS, connections


class ProgressWriter:
    """Writes a job's progress through its own autocommitting connection: the import runs in one transaction,
    so updates made on the main connection would stay invisible to pollers until the very end."""

    def __init__(self, table: str, job_id: int):
        self.table, self.job_id = table, job_id
        self.connection = connections.create_connection(DEFAULT_DB_ALIAS)

    def __call__(self, percent: int, message: str) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {self.table} SET progress = %s, message = %s WHERE id = %s",
                [percent, message[:255], self.job_id],
            )

    def close(self) -> None:
        self.connection.close()
