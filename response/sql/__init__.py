"""SQL installed by response migrations. Files are versioned by name: change behaviour in a new file and migration."""

from functools import partial
from pathlib import Path

from spmis.core.sql import run_sql_file as _run_sql_file

SQL_DIR = Path(__file__).resolve().parent
run_sql_file = partial(_run_sql_file, folder=SQL_DIR)
