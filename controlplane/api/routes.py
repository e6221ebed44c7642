"""Route helpers every app's ``api/urls.py`` uses: a viewset bound to the methods it implements."""

from __future__ import annotations

LIST = {"get": "list", "post": "create"}
DETAIL = {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}


def collection(viewset, actions=LIST):  # type: ignore[no-untyped-def]
    return viewset.as_view({m: a for m, a in actions.items() if hasattr(viewset, a)})
