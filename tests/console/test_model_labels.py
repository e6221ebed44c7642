"""Every model, field and app of the project has a label for people in both languages: the admin's pages, forms and
filters show ``verbose_name``, so each is marked for translation and the Chinese catalog has it."""

from __future__ import annotations

from django.apps import apps
from django.utils.functional import Promise
from django.utils.translation import override

SAME_IN_BOTH = {"ID", "API"}


def project_labels() -> list[tuple[str, object]]:
    labels: list[tuple[str, object]] = []
    for config in apps.get_app_configs():
        if not config.name.startswith("controlplane."):
            continue
        labels.append((config.name, config.verbose_name))
        for model in config.get_models():
            where = f"{config.label}.{model.__name__}"
            labels += [(where, model._meta.verbose_name), (where + " (plural)", model._meta.verbose_name_plural)]
            labels += [
                (f"{where}.{field.name}", field.verbose_name)
                for field in model._meta.get_fields()
                if field.concrete and not field.auto_created
            ]
    return labels


def test_every_model_field_and_app_label_is_marked_for_translation():
    labels = project_labels()
    assert len(labels) > 500  # every concrete field of every model is here
    assert [where for where, label in labels if not isinstance(label, Promise)] == []


def test_every_model_field_and_app_label_has_its_chinese():
    untranslated = []
    for where, label in project_labels():
        with override("en"):
            english = str(label)
        with override("zh-hans"):
            chinese = str(label)
        if chinese == english and english not in SAME_IN_BOTH:
            untranslated.append((where, english))
    assert untranslated == []


def test_a_label_reads_in_the_users_language():
    from controlplane.jobs.models import Run

    def labels() -> tuple[str, str]:
        return str(Run._meta.verbose_name), str(Run._meta.get_field("finished_at").verbose_name)

    with override("zh-hans"):
        assert labels() == ("运行", "结束时间")
    with override("en"):
        assert labels() == ("run", "finished at")
