"""The install, upgrade and scale (out, in) wizards of a cluster: a form, then its plan (``plan_operation``, the API's
dry run: each step, its nodes, the notes; nothing written), then Run, which posts the same fields with the plan's
hash to ``do_request_operation``: it runs only the plan that was shown (OPERATION_PLAN_CHANGED otherwise). A domain
error of the plan is shown at its field with the input kept."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from controlplane.clusters.models import Cluster
from controlplane.console.pages.clusters import WIZARDS, Member, Wizard, cluster_of, requested, topology
from controlplane.console.pages.frame import Scope, action, page, refused, render
from controlplane.errors import DomainError
from controlplane.eventlog.metadata import Metadata
from controlplane.iam import access
from controlplane.operations import actions as operations
from controlplane.operations.api.serializers import plan_body
from controlplane.operations.install import FORMS, ROLES
from controlplane.operations.plans import point_of

ROLE_LABELS = {"hybrid": gettext_lazy("Hybrid"), "master": gettext_lazy("Master"), "worker": gettext_lazy("Worker")}


def _agent_choices(members: list[Member], listed: bool | None) -> list[tuple[str, str]]:
    """The agents to offer: on a node the cluster lists (``listed``), on none yet (not), or all."""
    return [
        (m.agent.id, f"{m.agent.hostname} ({m.address or m.agent.id[:8]})")
        for m in members
        if m.agent is not None and listed in (None, m.node is not None)
    ]


class WizardForm(forms.Form):
    """The fields every wizard may show; each subclass keeps the ones its operation type takes."""

    listed: bool | None = None  # the nodes offered: the cluster's (True), agents' nodes it does not list (False), all

    def __init__(self, *args: Any, members: list[Member], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "nodes" in self.fields:
            self.fields["nodes"].choices = _agent_choices(members, self.listed)

    def params(self) -> dict[str, Any]:
        """The operation's params from the cleaned fields (empty optional ones left out: the plan's defaults)."""
        return {name: value for name, value in self.cleaned_data.items() if value not in (None, "", [])}

    def show_error(self, error: DomainError) -> None:
        """The domain error at the field it names (``nodes.0.role`` -> nodes, ``params.source`` -> source)."""
        parts = str(error.details.get("field") or "").split(".")
        name = parts[1] if parts[0] == "params" and len(parts) > 1 else parts[0]
        self.add_error(name if name in self.fields else None, str(error))


def _version() -> forms.CharField:
    return forms.CharField(label=gettext_lazy("SeaTunnel version"), max_length=32, required=False)


def _mirror() -> forms.CharField:
    return forms.CharField(
        label=gettext_lazy("Mirror"),
        max_length=500,
        required=False,
        help_text=gettext_lazy("Where the distribution is downloaded from (default: the Apache archive)."),
    )


def _batch_size() -> forms.IntegerField:
    return forms.IntegerField(
        label=gettext_lazy("Nodes per batch"), min_value=1, max_value=1000, initial=1, required=False
    )


def _nodes(required: bool, help_text: Any) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=gettext_lazy("Nodes"), required=required, widget=forms.CheckboxSelectMultiple, help_text=help_text
    )


class InstallForm(WizardForm):
    version = forms.CharField(label=gettext_lazy("SeaTunnel version"), max_length=32)
    mirror = _mirror()
    form = forms.ChoiceField(
        label=gettext_lazy("Deployment"),
        choices=[(f, f) for f in FORMS],
        help_text=gettext_lazy("How SeaTunnel runs on each node."),
    )
    prefix = forms.CharField(label=gettext_lazy("Install directory"), max_length=300, required=False)

    def __init__(self, *args: Any, members: list[Member], **kwargs: Any) -> None:
        super().__init__(*args, members=members, **kwargs)
        roles = [("", _("Not in the cluster")), *((role, ROLE_LABELS[role]) for role in ROLES)]
        for agent_id, name in _agent_choices(members, self.listed):
            self.fields[f"role_{agent_id}"] = forms.ChoiceField(label=name, choices=roles, required=False)

    def params(self) -> dict[str, Any]:
        values = super().params()
        nodes = [
            {"node": name.removeprefix("role_"), "role": values.pop(name)}
            for name in list(values)
            if name.startswith("role_")
        ]
        return {**values, "nodes": nodes}


class UpgradeForm(WizardForm):
    listed = True
    version = forms.CharField(label=gettext_lazy("SeaTunnel version"), max_length=32)
    mirror = _mirror()
    batch_size = _batch_size()
    nodes = _nodes(False, gettext_lazy("None chosen: every node (masters first)."))


class ScaleOutForm(WizardForm):
    listed = False
    nodes = _nodes(True, gettext_lazy("The agents' nodes that become workers."))
    version = _version()
    mirror = _mirror()

    def params(self) -> dict[str, Any]:
        values = super().params()
        return {**values, "nodes": [{"node": agent_id} for agent_id in values["nodes"]]}


class ScaleInForm(WizardForm):
    listed = True
    nodes = _nodes(True, gettext_lazy("The workers to take out: their streaming runs are paused with a savepoint."))
    batch_size = _batch_size()
    purge = forms.BooleanField(
        label=gettext_lazy("Remove the files"), required=False, help_text=gettext_lazy("Logs and data too.")
    )
    revoke_agents = forms.BooleanField(label=gettext_lazy("Revoke their agents"), required=False, initial=True)


FORMS_OF: dict[str, type[WizardForm]] = {
    "install": InstallForm,
    "upgrade": UpgradeForm,
    "scale-out": ScaleOutForm,
    "scale-in": ScaleInForm,
}


def _prefilled(request: HttpRequest) -> dict[str, Any]:
    """A form's fields from the query (a refused Run comes back here with what was entered)."""
    return {name: values if len(values) > 1 or name == "nodes" else values[0] for name, values in request.GET.lists()}


def _wizard_page(wizard: Wizard):  # type: ignore[no-untyped-def]
    form_class = FORMS_OF[wizard.name]

    @page("cluster.read", "cluster")
    def view(request: HttpRequest, scope: Scope, cluster_id: str) -> HttpResponse:
        cluster = cluster_of(scope, cluster_id)
        try:  # the plan shows what the role may run: the type's point on this cluster, as the request needs
            access.require(scope.user, point_of(wizard.type), scope.tenant, scope.workspace, cluster)
        except access.AccessDenied as error:
            return refused(request, scope, str(error))
        members = topology([cluster.id])[cluster.id]
        plan = None
        if request.method == "POST":  # the Plan step: a dry run, nothing written
            form = form_class(request.POST, members=members)
            if form.is_valid():
                try:
                    planned = operations.plan_operation(cluster=cluster, type=wizard.type, params=form.params())
                    plan = plan_body(wizard.type, cluster.id, planned)
                except DomainError as error:
                    form.show_error(error)
        else:
            form = form_class(initial=_prefilled(request), members=members)
        return render(
            request,
            scope,
            "console/cluster_wizard.html",
            str(wizard.label),
            title_note=cluster.name,
            cluster=cluster,
            wizard=wizard,
            form=form,
            plan=plan,
            run_url=reverse(f"admin:console-cluster-{wizard.name}-run", args=[cluster.id]),
            back=_form_url(wizard, cluster, request.POST) if plan else "",
        )

    view.__name__ = f"{wizard.name.replace('-', '_')}_wizard"
    return view


def _form_url(wizard: Wizard, cluster: Cluster, data: Any) -> str:
    fields = [
        (k, v) for k, values in data.lists() if k not in ("csrfmiddlewaretoken", "plan_hash", "next") for v in values
    ]
    return reverse(f"admin:console-cluster-{wizard.name}", args=[cluster.id]) + "?" + urlencode(fields)


def _wizard_run(wizard: Wizard):  # type: ignore[no-untyped-def]
    form_class = FORMS_OF[wizard.name]

    @action(wizard.name.replace("-", "_"), "cluster")
    def view(request: HttpRequest, scope: Scope, metadata: Metadata, cluster_id: str) -> tuple[str, str]:
        cluster = cluster_of(scope, cluster_id)
        form = form_class(request.POST, members=topology([cluster.id])[cluster.id])
        if not form.is_valid():
            raise DomainError(form.errors.as_text(), code="OPERATION_PARAMS_INVALID")
        operation_id = operations.do_request_operation(
            metadata=metadata,
            cluster=cluster,
            type=wizard.type,
            params=form.params(),
            plan_hash=request.POST.get("plan_hash", ""),
        )
        return requested(operation_id)

    view.__name__ = f"{wizard.name.replace('-', '_')}_run"
    return view


WIZARD_PAGES = {wizard.name: _wizard_page(wizard) for wizard in WIZARDS}
WIZARD_RUNS = {wizard.name: _wizard_run(wizard) for wizard in WIZARDS}
