"""Tenant and workspace roles are their Membership rows alone (ADR 0019): the guardian object permissions that
mirrored them, and the permission catalogue rows on Tenant and Workspace they used, go."""

from django.db import migrations


def drop_mirrored_grants(apps, schema_editor):  # type: ignore[no-untyped-def]
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    UserObjectPermission = apps.get_model("guardian", "UserObjectPermission")
    GroupObjectPermission = apps.get_model("guardian", "GroupObjectPermission")
    types = ContentType.objects.filter(app_label="tenancy", model__in=["tenant", "workspace"])
    UserObjectPermission.objects.filter(content_type__in=types).delete()
    GroupObjectPermission.objects.filter(content_type__in=types).delete()
    Permission.objects.filter(content_type__in=types).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("iam", "0002_token_kinds_logins_invitations"),
        ("tenancy", "0003_tenant_roles_are_memberships"),
        ("guardian", "0003_remove_groupobjectpermission_guardian_gr_content_ae6aec_idx_and_more"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    # Not reversible into the old rows: re-granting every membership would rebuild them, and nothing reads them.
    operations = [migrations.RunPython(drop_mirrored_grants, migrations.RunPython.noop)]
