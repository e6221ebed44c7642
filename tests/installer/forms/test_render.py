from __future__ import annotations

import pytest

from installer.forms import Deployment, FormError
from installer.forms.render import FORMS, render


def test_each_form_by_name() -> None:
    d = Deployment(version="2.3.12")
    assert list(render(d, "systemd")) == ["seatunnel.service"]
    assert "docker-compose.yml" in render(d, "compose")
    assert "kustomization.yaml" in render(d, "k8s")
    assert FORMS["systemd"][1] == "/etc/systemd/system"


def test_unknown_form_names_the_choices() -> None:
    with pytest.raises(FormError, match="systemd, compose, k8s"):
        render(Deployment(version="2.3.12"), "process")
