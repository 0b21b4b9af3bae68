import pytest

from tests.accountability.conftest import world  # noqa: F401 - a program with a paid and a failed payment


@pytest.fixture(autouse=True)
def _shipped_categories(request):
    """The data migration's categories, back after a transactional test elsewhere emptied the tables."""
    if "django_db" not in {mark.name for mark in request.node.iter_markers()}:
        return
    request.getfixturevalue(
        "db" if not request.node.get_closest_marker("django_db").kwargs.get("transaction") else "transactional_db"
    )
    from grievances.defaults import categories_ensure

    categories_ensure()
