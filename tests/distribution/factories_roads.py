"""Road networks for tests: the real São Paulo extract (loaded once per test through the real loader)."""

from __future__ import annotations

import shutil
from pathlib import Path

from distribution.roads.services import network_load_file

SAO_PAULO_PBF = Path("/work/shared/data/osm/sao_paulo_centre.osm.pbf")


def sao_paulo_network(tmp_path: Path, *, code: str = "sao-paulo", make_default: bool = False):
    """Load a copy of the São Paulo extract (the shared original stays untouched)."""
    copy = tmp_path / "sao_paulo_centre.osm.pbf"
    shutil.copyfile(SAO_PAULO_PBF, copy)
    return network_load_file(path=copy, code=code, name="São Paulo centre", make_default=make_default)
