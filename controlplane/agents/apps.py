from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AgentsConfig(AppConfig):
    name = "controlplane.agents"
    label = "agents"
    verbose_name = _("Node agents")

    def ready(self) -> None:
        # The signing key is sealed under a master key: a key rotation re-seals it (ADR 0010). Registered here
        # so that secrets, below agents, needs not import agents.
        from controlplane.agents.signing import rewrap_all
        from controlplane.secrets import rotation

        rotation.register(rewrap_all)
