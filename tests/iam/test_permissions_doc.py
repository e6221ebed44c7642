"""docs/SECURITY.md lists every permission point and which role holds it, exactly as the code does."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from controlplane.iam.permissions import POINTS, ROLE_ORDER, ROLES

DOC = Path(__file__).resolve().parents[2] / "docs" / "SECURITY.md"


def test_security_doc_matches_the_permission_table():
    rows = {}
    for line in DOC.read_text().splitlines():
        match = re.match(r"^\| `([a-z_]+\.[a-z_]+)`[^|]*\|[^|]*\|(.*)\|$", line)
        if match:
            rows[match.group(1)] = [cell.strip() == "yes" for cell in match.group(2).split("|")]
    assert set(rows) == set(POINTS)
    for point, cells in rows.items():
        assert cells == [point in ROLES[role] for role in ROLE_ORDER], point


def test_roles_grow_from_viewer_to_owner():
    for lower, higher in itertools.pairwise(ROLE_ORDER):
        assert ROLES[lower] < ROLES[higher]
    assert all(point.endswith(".read") for point in ROLES["viewer"])
    assert "secret.reveal" not in ROLES["operator"] and "audit.export" not in ROLES["operator"]
