"""Which test produces (and checks) each registered event type. tests/api/test_meta.py keeps this complete."""

COVERED: dict[str, str] = {
    "tenancy.tenant_created": "tests/eventlog/test_projections.py::test_read_models_follow_the_log_in_the_same_transaction",
    "tenancy.tenant_renamed": "tests/eventlog/test_projections.py::test_read_models_follow_the_log_in_the_same_transaction",
    "tenancy.workspace_created": "tests/eventlog/test_projections.py::test_read_models_follow_the_log_in_the_same_transaction",
    "tenancy.tenant_disabled": "tests/api/test_tenants.py::test_disabled_tenant_refuses_its_users_and_tokens",
    "tenancy.tenant_enabled": "tests/api/test_tenants.py::test_disabled_tenant_refuses_its_users_and_tokens",
    "tenancy.quotas_set": "tests/api/test_tenants.py::test_quotas_are_set_and_enforced",
}
