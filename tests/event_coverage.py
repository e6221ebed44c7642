"""Which test produces (and checks) each registered event type. tests/api/test_meta.py keeps this complete."""

PROJECTIONS = "tests/eventlog/test_projections.py::test_read_models_follow_the_log_in_the_same_transaction"
DISABLE = "tests/api/test_tenants.py::test_disabled_tenant_refuses_its_users_and_tokens"

COVERED: dict[str, str] = {
    "tenancy.tenant_created": PROJECTIONS,
    "tenancy.tenant_renamed": PROJECTIONS,
    "tenancy.workspace_created": PROJECTIONS,
    "tenancy.tenant_disabled": DISABLE,
    "tenancy.tenant_enabled": DISABLE,
    "tenancy.quotas_set": "tests/api/test_tenants.py::test_quotas_are_set_and_enforced",
}
