"""The only writers of secrets. Each loads the secret stream, decides, appends, and writes the encrypted
value in the same transaction.

Each authorizes its actor itself (ADR 0018): ``secret.create`` | ``secret.update`` | ``secret.delete`` |
``secret.reveal`` in the secret's tenant and workspace, as the API's views require; key rotation, which crosses
every tenant, is the platform's. ``secret.reveal`` is a permission of its own; every reveal appends
``secrets.secret_revealed`` (the audit trail) before the plaintext is returned.

The metadata's tenant must be the secret's (or None for platform tasks): a secret of another tenant
answers SECRET_NOT_FOUND, as if it did not exist, and creating one in another tenant NOT_FOUND. Nothing
here logs a value.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import replace

from django.db import IntegrityError, transaction
from django.utils import timezone

from controlplane.errors import DomainError
from controlplane.eventlog.aggregates import AggregateSpec, execute, load
from controlplane.eventlog.errors import ConcurrencyConflict
from controlplane.eventlog.metadata import Metadata
from controlplane.eventlog.store import StreamRef
from controlplane.iam.access import authorize, authorize_platform
from controlplane.secrets import rotation, vault
from controlplane.secrets.domain import aggregate
from controlplane.secrets.domain.aggregate import SecretState
from controlplane.secrets.domain.errors import SecretExists, SecretNotFound
from controlplane.secrets.envelope import Binding
from controlplane.secrets.keys import KeyProvider, get_provider
from controlplane.secrets.models import SecretVersion
from controlplane.secrets.selectors import secret_exists
from controlplane.tenancy.models import Workspace

log = logging.getLogger("controlplane.secrets")

SECRET = AggregateSpec[SecretState](
    name="secrets.secret",
    initial=SecretState,
    evolve=aggregate.evolve,
    to_snapshot=aggregate.to_snapshot,
    from_snapshot=aggregate.from_snapshot,
)

ROTATION_BATCH = 100
ROTATION_RETRIES = 5


def secret_stream(secret_id: str) -> StreamRef:
    return StreamRef(type="secrets.secret", id=f"secret-{secret_id}")


def _load_live(metadata: Metadata, secret_id: str) -> SecretState:
    """The secret's state, or SECRET_NOT_FOUND when it is deleted, absent or in another tenant/workspace."""
    if not isinstance(secret_id, str) or not 1 <= len(secret_id) <= 64:
        raise SecretNotFound("no such secret", secret_id=str(secret_id)[:64])
    state, _ = load(SECRET, secret_stream(secret_id).id)
    foreign = (metadata.tenant_id is not None and metadata.tenant_id != state.tenant_id) or (
        metadata.workspace_id is not None and metadata.workspace_id != state.workspace_id
    )
    if not state.live or foreign:
        raise SecretNotFound("no such secret", secret_id=secret_id)
    return state


def _meta_for(metadata: Metadata, state: SecretState) -> Metadata:
    return replace(metadata, tenant_id=state.tenant_id, workspace_id=state.workspace_id)


def do_create_secret(
    *, metadata: Metadata, tenant_id: str, workspace_id: str, name: str, value: str, description: str = ""
) -> str:
    """Create a secret with its first version; returns its id."""
    authorize(metadata, "secret.create", tenant_id=tenant_id, workspace_id=workspace_id)
    aggregate.check_name(name)
    aggregate.check_description(description)
    plaintext = aggregate.check_value(value)
    if metadata.workspace_id is not None and metadata.workspace_id != workspace_id:
        raise DomainError("no such workspace in this tenant", code="WORKSPACE_NOT_FOUND", field="workspace")
    secret_id = uuid.uuid4().hex
    meta = replace(metadata, tenant_id=tenant_id, workspace_id=workspace_id)
    with transaction.atomic():
        if not Workspace.objects.filter(id=workspace_id, tenant_id=tenant_id).exists():
            raise DomainError("no such workspace in this tenant", code="WORKSPACE_NOT_FOUND", field="workspace")
        if secret_exists(tenant_id, workspace_id, name):
            raise SecretExists(f"a secret named {name!r} exists in this workspace", field="name", name=name)
        binding = Binding(tenant_id=tenant_id, secret_id=secret_id, version=1)
        sealed = vault.seal_value(plaintext, binding)
        try:
            with transaction.atomic():
                recorded = execute(
                    SECRET,
                    secret_stream(secret_id),
                    lambda state: aggregate.create_secret(
                        state,
                        secret_id=secret_id,
                        tenant_id=tenant_id,
                        workspace_id=workspace_id,
                        name=name,
                        description=description,
                        kek_id=sealed.kek_id,
                    ),
                    meta,
                )
        except IntegrityError:
            # Another writer took the name between our check and the projector's insert.
            raise SecretExists(f"a secret named {name!r} exists in this workspace", field="name", name=name) from None
        vault.store(sealed, binding, recorded[-1].recorded_at)
    log.info(
        "secret %s (%s) created in workspace %s, version 1 under key %s", secret_id, name, workspace_id, sealed.kek_id
    )
    return secret_id


def do_update_secret(*, metadata: Metadata, secret_id: str, value: str) -> int:
    """Store a new value as the next version; returns the version."""
    with transaction.atomic():
        state = _load_live(metadata, secret_id)  # its tenant and workspace are where the actor must hold the point
        authorize(metadata, "secret.update", tenant_id=state.tenant_id, workspace_id=state.workspace_id)
        plaintext = aggregate.check_value(value)
        version = state.current_version + 1
        binding = Binding(tenant_id=state.tenant_id, secret_id=secret_id, version=version)
        sealed = vault.seal_value(plaintext, binding)
        recorded = execute(
            SECRET,
            secret_stream(secret_id),
            lambda current: aggregate.add_version(current, secret_id=secret_id, version=version, kek_id=sealed.kek_id),
            _meta_for(metadata, state),
        )
        vault.store(sealed, binding, recorded[-1].recorded_at)
    log.info("secret %s (%s): version %s stored under key %s", secret_id, state.name, version, sealed.kek_id)
    return version


def do_delete_secret(*, metadata: Metadata, secret_id: str) -> None:
    """Delete a secret and destroy every stored version of its value; its name becomes free."""
    with transaction.atomic():
        state = _load_live(metadata, secret_id)
        authorize(metadata, "secret.delete", tenant_id=state.tenant_id, workspace_id=state.workspace_id)
        # Rows before the stream head, in the order key rotation takes them: no deadlock with it.
        list(SecretVersion.objects.select_for_update().filter(secret_id=secret_id).order_by("pk").values_list("pk"))
        execute(
            SECRET,
            secret_stream(secret_id),
            lambda current: aggregate.delete_secret(current, secret_id=secret_id),
            _meta_for(metadata, state),
        )
        SecretVersion.objects.filter(secret_id=secret_id).delete()
    log.info("secret %s (%s) deleted", secret_id, state.name)


def do_reveal_secret(*, metadata: Metadata, secret_id: str, version: int | None = None) -> str:
    """Append ``secrets.secret_revealed`` and return the plaintext of ``version`` (default: the current one).

    Reveal is a permission of its own (``secret.reveal``). If decryption fails (SECRETS_TAMPERED,
    SECRETS_KEY_*), the audit event is rolled back with it.
    """
    with transaction.atomic():
        state = _load_live(metadata, secret_id)
        authorize(metadata, "secret.reveal", tenant_id=state.tenant_id, workspace_id=state.workspace_id)
        recorded = execute(
            SECRET,
            secret_stream(secret_id),
            lambda current: aggregate.reveal_secret(current, secret_id=secret_id, version=version),
            _meta_for(metadata, state),
        )
        revealed = recorded[0].data.version
        plaintext = vault.open_value(Binding(tenant_id=state.tenant_id, secret_id=secret_id, version=revealed))
    log.info(
        "secret %s (%s) version %s revealed to %s %s",
        secret_id,
        state.name,
        revealed,
        metadata.actor.kind,
        metadata.actor.id,
    )
    return plaintext.decode("utf-8")


def do_rotate_keys(
    *,
    metadata: Metadata,
    batch_size: int = ROTATION_BATCH,
    progress: Callable[[dict[str, int]], None] | None = None,
) -> int:
    """Re-wrap every data key wrapped by a master key other than the active one; returns how many.

    Small transactions, so secrets stay readable and writable throughout (until a version is re-wrapped
    its old key id keeps decrypting it): each covers the versions of one secret, at most ``batch_size``
    of them. It locks those rows, re-wraps their data keys, appends ``secrets.secret_rewrapped`` to that
    secret's stream and updates the rows. One stream per transaction keeps the lock order of every other
    writer (stream head, then the log's position), so rotation never deadlocks with them. ``progress``
    gets {from_kek_id: count} after each commit. Stops with SECRETS_KEY_UNKNOWN / SECRETS_KEY_MISMATCH /
    SECRETS_TAMPERED at the first version it cannot unwrap; what was committed stays done and a rerun
    continues. Every tenant's secrets: the platform's (an administrator, or the control plane's command).
    """
    authorize_platform(metadata, "rotate the master keys")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    provider = get_provider()
    to_kek_id = provider.active_key_id()
    to_kek = vault.provider_key(provider, to_kek_id)
    vault.verify_keys(provider)
    with transaction.atomic():
        vault.ensure_key_check(to_kek_id, to_kek)
    total = 0
    after = 0  # primary key order; a re-wrapped row no longer matches, a failing one stops the run
    while True:
        pending = list(
            SecretVersion.objects.filter(pk__gt=after)
            .exclude(kek_id=to_kek_id)
            .order_by("pk")
            .values_list("pk", "secret_id")[:batch_size]
        )
        if not pending:
            # What other apps seal under a master key, e.g. the agents' signing key (ADR 0010).
            for rewrap in rotation.rewraps():
                rewrap(to_kek_id)
            return total
        after = pending[-1][0]
        by_secret: dict[str, list[int]] = defaultdict(list)
        for pk, secret_id in pending:
            by_secret[secret_id].append(pk)
        for secret_id, pks in by_secret.items():
            for attempt in range(ROTATION_RETRIES):
                try:
                    moved = _rotate_secret(metadata, provider, secret_id, pks, to_kek_id, to_kek)
                    break
                except ConcurrencyConflict:
                    if attempt == ROTATION_RETRIES - 1:
                        raise
            if moved:
                total += sum(moved.values())
                log.info(
                    "key rotation: secret %s: re-wrapped %s data keys to %s (%s)",
                    secret_id,
                    sum(moved.values()),
                    to_kek_id,
                    ", ".join(f"{n} from {k}" for k, n in sorted(moved.items())),
                )
                if progress is not None:
                    progress(dict(moved))


def _rotate_secret(
    metadata: Metadata, provider: KeyProvider, secret_id: str, pks: list[int], to_kek_id: str, to_kek: bytes
) -> Counter:
    moved: Counter = Counter()
    with transaction.atomic():
        rows = list(
            SecretVersion.objects.select_for_update().filter(pk__in=pks).exclude(kek_id=to_kek_id).order_by("pk")
        )
        if not rows:
            return moved  # re-wrapped or deleted meanwhile
        state, _ = load(SECRET, secret_stream(secret_id).id)
        if not state.live:
            return moved
        rewraps = []
        for row in rows:
            binding = Binding(tenant_id=state.tenant_id, secret_id=secret_id, version=row.version)
            rewraps.append((row.version, vault.rewrap_row(row, binding, provider, to_kek_id, to_kek), to_kek_id))
        execute(
            SECRET,
            secret_stream(secret_id),
            lambda current: aggregate.rewrap_versions(current, secret_id=secret_id, rewraps=rewraps),
            _meta_for(metadata, state),
        )
        now = timezone.now()
        for row, (_, from_kek_id, _) in zip(rows, rewraps, strict=True):
            row.rewrapped_at = now
            row.save(update_fields=["kek_id", "wrapped_dek", "dek_nonce", "rewrapped_at"])
            moved[from_kek_id] += 1
    return moved
