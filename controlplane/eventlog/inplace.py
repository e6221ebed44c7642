"""Rebuilding read models in place (docs/adr/0016-rebuild-in-place.md).

A rebuild replays the log into empty *shadow* tables (temporary tables shaped like the read models, indexes
included, no foreign keys) and then merges each shadow into its read model with three set statements:
delete the rows the log no longer produces, update the rows whose columns differ, insert the new ones.
Rows that survive keep their primary keys and are never deleted, so nothing that points at them (a
membership, an API token, a guardian grant, a row another branch adds later) is touched, whatever its
``on_delete``; the merge never goes through the ORM's delete, so no cascade runs at all. A row the log no
longer produces is removed only if nothing outside the rebuilt read models points at it; otherwise the
rebuild stops with ``EVENTLOG_REBUILD_REFUSED`` and changes nothing.

While the replay runs, the projectors' ORM queries on this connection are redirected to the shadows by an
``execute_wrapper`` that rewrites the quoted table names: nothing global changes, other connections and
threads see the real tables.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper

from controlplane.eventlog.errors import RebuildRefused

SUPPORTED = ("postgresql", "mysql", "sqlite")
# The table an INSERT, UPDATE or DELETE writes (Django quotes it: "name" or `name`).
_WRITE = re.compile(
    r"\s*(?:INSERT\s+(?:IGNORE\s+)?INTO|REPLACE\s+INTO|UPDATE|DELETE\s+FROM|DELETE\s+\S+\s+FROM)\s+([\"`][^\"`]+[\"`])",
    re.IGNORECASE,
)


def shadow_name(table: str) -> str:
    name = f"rb_{table}"
    if len(name) > 60:  # identifiers: 63 on PostgreSQL, 64 on MariaDB
        name = f"rb_{hashlib.sha256(table.encode()).hexdigest()[:24]}"
    return name


@dataclass
class Shadow:
    model: type[models.Model]
    table: str
    shadow: str
    pk: str  # column
    columns: list[str]  # every concrete column, the primary key first
    json_columns: list[str]  # JSONField columns (text on SQLite and MariaDB: key order is not meaning)


@dataclass
class Changes:
    inserted: int = 0
    updated: int = 0
    deleted: int = 0


class Shadows:
    """The shadow tables of one rebuild, on one connection, inside the rebuild's transaction."""

    def __init__(self, connection: BaseDatabaseWrapper, read_models: Iterable[type[models.Model]]) -> None:
        if connection.vendor not in SUPPORTED:
            raise NotImplementedError(f"rebuilding read models in place is not implemented for {connection.vendor}")
        self.connection = connection
        self.q = connection.ops.quote_name
        self.items: list[Shadow] = []
        for model in read_models:
            pk = model._meta.pk.column
            columns = [pk, *(f.column for f in model._meta.concrete_fields if f.column != pk)]
            table = model._meta.db_table
            json_columns = [f.column for f in model._meta.concrete_fields if isinstance(f, models.JSONField)]
            self.items.append(Shadow(model, table, shadow_name(table), pk, columns, json_columns))
        self._map = {self.q(s.table): self.q(s.shadow) for s in self.items}
        self._pattern = re.compile("|".join(re.escape(name) for name in self._map)) if self._map else None
        # Every other table Django manages is out of bounds for the replay: a projector writes its read models
        # only, and a cascade (or an auditlog entry) from a handler's ORM delete must not reach beyond them.
        from django.apps import apps

        self._protected = {
            self.q(model._meta.db_table)
            for model in apps.get_models(include_auto_created=True)
            if model._meta.db_table not in {s.table for s in self.items}
        }

    # -- the replay ------------------------------------------------------------------------------------------
    def create(self) -> None:
        with self.connection.cursor() as cursor:
            for item in self.items:
                for statement in self._create_sql(cursor, item):
                    cursor.execute(statement)

    def _create_sql(self, cursor: Any, item: Shadow) -> list[str]:
        q, vendor = self.q, self.connection.vendor
        if vendor == "postgresql":
            # LIKE copies columns, defaults, NOT NULL, checks and indexes (names generated), never foreign keys.
            return [
                f"DROP TABLE IF EXISTS pg_temp.{q(item.shadow)}",
                f"CREATE TEMPORARY TABLE {q(item.shadow)} (LIKE {q(item.table)} INCLUDING ALL)",
            ]
        if vendor == "mysql":
            # TEMPORARY: no implicit commit, so it stays inside the rebuild's transaction. LIKE copies indexes,
            # not foreign keys.
            return [
                f"DROP TEMPORARY TABLE IF EXISTS {q(item.shadow)}",
                f"CREATE TEMPORARY TABLE {q(item.shadow)} LIKE {q(item.table)}",
            ]
        # SQLite has no CREATE TABLE … LIKE: copy the stored definition (renamed, without REFERENCES clauses: a
        # temporary table cannot refer to a main one) and its indexes into the temp schema.
        cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = %s", [item.table])
        (table_sql,) = cursor.fetchone()
        body = table_sql[table_sql.index("(") :]
        body = re.sub(r'\s+REFERENCES\s+"[^"]+"\s*\([^)]*\)(\s+DEFERRABLE\s+INITIALLY\s+DEFERRED)?', "", body)
        statements = [f"DROP TABLE IF EXISTS temp.{q(item.shadow)}", f"CREATE TEMP TABLE {q(item.shadow)} {body}"]
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL",
            [item.table],
        )
        for name, index_sql in cursor.fetchall():
            head = re.match(r"\s*CREATE\s+(UNIQUE\s+)?INDEX\s+\S+\s+ON\s+\S+\s*", index_sql, re.IGNORECASE)
            if head is None:
                continue
            unique = "UNIQUE " if head.group(1) else ""
            index_name = q(shadow_name(name))
            statements.append(f"CREATE {unique}INDEX temp.{index_name} ON {q(item.shadow)} {index_sql[head.end() :]}")
        return statements

    def redirect(self, execute: Callable, sql: str, params: Any, many: bool, context: dict) -> Any:
        """``connection.execute_wrapper``: the projectors' statements go to the shadow tables."""
        if self._pattern is not None:
            sql = self._pattern.sub(lambda m: self._map[m.group(0)], sql)
        write = _WRITE.match(sql)
        if write is not None and write.group(1) in self._protected:
            raise RebuildRefused(
                f"a projector wrote {write.group(1)} during a rebuild; projectors write their read models only",
                statement=sql[:200],
            )
        return execute(sql, params, many, context)

    # -- the merge -------------------------------------------------------------------------------------------
    def merge(self) -> dict[str, Changes]:
        """Make each read model equal to its shadow, touching only the rows that differ."""
        changes = {item.table: Changes() for item in self.items}
        with self.connection.cursor() as cursor:
            self._refuse_orphans(cursor)
            for item in self.items:  # children first (the order of ``read_models``)
                cursor.execute(self._delete_sql(item))
                changes[item.table].deleted = max(cursor.rowcount, 0)
            for item in reversed(self.items):  # parents first: MariaDB checks foreign keys at once
                changes[item.table].updated = self._update(cursor, item)
                cursor.execute(self._insert_sql(item))
                changes[item.table].inserted = max(cursor.rowcount, 0)
        return changes

    def drop(self) -> None:
        q, vendor = self.q, self.connection.vendor
        with self.connection.cursor() as cursor:
            for item in self.items:
                if vendor == "postgresql":
                    cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{q(item.shadow)}")
                elif vendor == "mysql":
                    cursor.execute(f"DROP TEMPORARY TABLE IF EXISTS {q(item.shadow)}")
                else:
                    cursor.execute(f"DROP TABLE IF EXISTS temp.{q(item.shadow)}")

    def _gone_sql(self, item: Shadow, column: str) -> str:
        q = self.q
        return (
            f"SELECT {q(column)} FROM {q(item.table)} WHERE NOT EXISTS "
            f"(SELECT 1 FROM {q(item.shadow)} s WHERE s.{q(item.pk)} = {q(item.table)}.{q(item.pk)})"
        )

    def _delete_sql(self, item: Shadow) -> str:
        q = self.q
        return (
            f"DELETE FROM {q(item.table)} WHERE NOT EXISTS "
            f"(SELECT 1 FROM {q(item.shadow)} s WHERE s.{q(item.pk)} = {q(item.table)}.{q(item.pk)})"
        )

    def _update(self, cursor: Any, item: Shadow) -> int:
        """Update the rows whose columns differ; returns how many.

        PostgreSQL compares jsonb by value. SQLite and MariaDB keep JSON as text, and a replay may write the
        same value with its keys in another order than the live path did (the stored payload is canonical):
        rows that differ in JSON text only are compared decoded, here, and written only if the values differ.
        """
        rest = item.columns[1:]
        if not rest:
            return 0
        text_json = item.json_columns if self.connection.vendor != "postgresql" else []
        plain = [c for c in rest if c not in text_json]
        updated = 0
        if plain:
            cursor.execute(self._update_sql(item, compare=plain))
            updated += max(cursor.rowcount, 0)
        if not text_json:
            return updated
        q, t = self.q, self.q(item.table)
        selected = ", ".join(f"s.{q(c)}, {t}.{q(c)}" for c in text_json)
        differ = " OR ".join(
            f"NOT {_same_mysql(f'{t}.{q(c)}', f's.{q(c)}')}"
            if self.connection.vendor == "mysql"
            else f"{t}.{q(c)} IS NOT s.{q(c)}"
            for c in text_json
        )
        cursor.execute(
            f"SELECT s.{q(item.pk)}, {selected} FROM {t} JOIN {q(item.shadow)} s ON s.{q(item.pk)} = {t}.{q(item.pk)} "
            f"WHERE {differ}"
        )
        different = [row[0] for row in cursor.fetchall() if _json_differs(row[1:])]
        for start in range(0, len(different), 500):
            keys = different[start : start + 500]
            cursor.execute(self._update_sql(item, keys=len(keys)), keys)
            updated += max(cursor.rowcount, 0)
        return updated

    def _update_sql(self, item: Shadow, *, compare: list[str] | None = None, keys: int = 0) -> str:
        """Set every column from the shadow where one of ``compare`` differs, or for ``keys`` given primary keys."""
        q, t, vendor = self.q, self.q(item.table), self.connection.vendor
        rest = item.columns[1:]
        compare = compare or []
        if vendor == "mysql":
            sets = ", ".join(f"{t}.{q(c)} = s.{q(c)}" for c in rest)
            where = (
                f"{t}.{q(item.pk)} IN ({', '.join(['%s'] * keys)})"
                if keys
                else "NOT (" + " AND ".join(_same_mysql(f"{t}.{q(c)}", f"s.{q(c)}") for c in compare) + ")"
            )
            return f"UPDATE {t} JOIN {q(item.shadow)} s ON s.{q(item.pk)} = {t}.{q(item.pk)} SET {sets} WHERE {where}"
        distinct = "IS DISTINCT FROM" if vendor == "postgresql" else "IS NOT"
        sets = ", ".join(f"{q(c)} = s.{q(c)}" for c in rest)
        where = (
            f"{t}.{q(item.pk)} IN ({', '.join(['%s'] * keys)})"
            if keys
            else "(" + " OR ".join(f"{t}.{q(c)} {distinct} s.{q(c)}" for c in compare) + ")"
        )
        return f"UPDATE {t} SET {sets} FROM {q(item.shadow)} s WHERE s.{q(item.pk)} = {t}.{q(item.pk)} AND {where}"

    def _insert_sql(self, item: Shadow) -> str:
        q = self.q
        columns = ", ".join(q(c) for c in item.columns)
        selected = ", ".join(f"s.{q(c)}" for c in item.columns)
        return (
            f"INSERT INTO {q(item.table)} ({columns}) SELECT {selected} FROM {q(item.shadow)} s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {q(item.table)} r WHERE r.{q(item.pk)} = s.{q(item.pk)})"
        )

    def _refuse_orphans(self, cursor: Any) -> None:
        """Before anything is written: would a row the log no longer produces leave something pointing at it?"""
        rebuilt = {item.model for item in self.items}
        pointers = _object_permission_pointers()
        found: list[str] = []
        for item in self.items:
            model = item.model
            # include_hidden: a foreign key declared with related_name="+" (Membership.workspace) points all the same
            relations = [
                rel
                for rel in model._meta.get_fields(include_hidden=True)
                if rel.auto_created
                and not rel.concrete
                and (rel.one_to_many or rel.one_to_one)
                and rel.related_model not in rebuilt
            ]
            if not relations and not pointers:
                continue
            gone: dict[str, list] = {}
            for column in {item.pk, *(rel.field.target_field.column for rel in relations)}:
                cursor.execute(self._gone_sql(item, column))
                gone[column] = [row[0] for row in cursor.fetchall()]
            if not gone[item.pk]:
                continue
            for rel in relations:
                values = gone[rel.field.target_field.column]
                count = rel.related_model._base_manager.filter(**{f"{rel.field.attname}__in": values}).count()
                if count:
                    found.append(f"{count} row(s) of {rel.related_model._meta.db_table} point at {item.table}")
            content_type = ContentType.objects.get_for_model(model, for_concrete_model=False)
            for pointer, ct_field, fk_field in pointers:
                keys = [str(pk) for pk in gone[item.pk]]
                count = pointer._base_manager.filter(**{ct_field: content_type, f"{fk_field}__in": keys}).count()
                if count:
                    found.append(f"{count} row(s) of {pointer._meta.db_table} point at {item.table}")
        if found:
            raise RebuildRefused(
                "the log no longer produces read-model rows that other tables point at: "
                + "; ".join(found)
                + ". Remove those references (or fix the projector) and rebuild again; nothing was changed.",
                references=found,
            )


def _same_mysql(a: str, b: str) -> str:
    """Equal, NULL-safe, byte for byte: a case-insensitive or PAD SPACE collation must not hide a change."""
    return f"(CAST({a} AS BINARY) <=> CAST({b} AS BINARY))"


def _json_differs(pairs: tuple) -> bool:
    """(shadow value, real value, shadow value, real value, ...) of JSON text columns: any pair unequal decoded?"""
    for new, old in zip(pairs[::2], pairs[1::2], strict=True):
        if new is None or old is None:
            if new is not old:
                return True
        elif json.loads(new) != json.loads(old):
            return True
    return False


def _object_permission_pointers() -> list[tuple[type[models.Model], str, str]]:
    """Models that point at rows by content type and primary key (guardian's object permissions), as
    (model, content-type field, object-pk field). History (auditlog) keeps no GenericForeignKey and is left."""
    from django.apps import apps

    found = []
    for model in apps.get_models():
        for field in model._meta.private_fields:
            if isinstance(field, GenericForeignKey):
                found.append((model, field.ct_field, field.fk_field))
    return found
