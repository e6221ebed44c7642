"""PostgreSQL: the whole append in one server-side call (docs/eventlog.md, "Writing").

``eventlog_append`` checks and moves the stream head under its row lock, computes the hash chain exactly as
``controlplane.eventlog.hashing.event_hash`` does (fields joined by U+001F, NULL metadata as ''), inserts
the events (positions from ``eventlog_next_position()``, so the reader's watermark holds) and returns
(version, position, hash) per event. A stale expected version raises SQLSTATE EL409; a stream of another
type EL400. One round trip per append instead of four.
"""

from django.db import migrations

FORWARD = r"""
CREATE FUNCTION eventlog_append(
    p_stream_id text, p_stream_type text, p_expected integer, p_tenant_id text, p_workspace_id text,
    p_actor_kind text, p_actor_id text, p_request_id text, p_correlation_id text, p_causation_id text,
    p_client_address text, p_recorded_at timestamptz, p_recorded_micros bigint,
    p_event_types text[], p_schema_versions integer[], p_payloads text[]
) RETURNS TABLE (out_version integer, out_position bigint, out_hash text)
LANGUAGE plpgsql AS $$
DECLARE
    head_version integer;
    head_hash text;
    head_type text;
    n integer := cardinality(p_event_types);
    hashes text[] := ARRAY[]::text[];
    positions bigint[];
    prev text;
    meta text;
BEGIN
    -- A transaction id before any position, as eventlog_next_position() guarantees for other inserts: the
    -- readers' watermark depends on it (ADR 0002).
    PERFORM pg_current_xact_id();
    IF p_expected = 0 THEN
        INSERT INTO eventlog_stream (stream_id, stream_type, version, last_hash, tenant_id)
        VALUES (p_stream_id, p_stream_type, 0, '', p_tenant_id)
        ON CONFLICT (stream_id) DO NOTHING;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'stream % already exists', p_stream_id USING ERRCODE = 'EL409', DETAIL = '-1';
        END IF;
        prev := '';
    ELSE
        SELECT version, last_hash, stream_type INTO head_version, head_hash, head_type
        FROM eventlog_stream WHERE stream_id = p_stream_id FOR UPDATE;
        IF NOT FOUND OR head_version <> p_expected THEN
            RAISE EXCEPTION 'stream % is at version %, not %', p_stream_id, coalesce(head_version, 0), p_expected
                USING ERRCODE = 'EL409', DETAIL = coalesce(head_version, 0)::text;
        END IF;
        IF head_type <> p_stream_type THEN
            RAISE EXCEPTION 'stream % is a %, not a %', p_stream_id, head_type, p_stream_type USING ERRCODE = 'EL400';
        END IF;
        prev := head_hash;
    END IF;
    meta := concat_ws(chr(31), coalesce(p_tenant_id, ''), coalesce(p_workspace_id, ''), coalesce(p_actor_kind, ''),
                      coalesce(p_actor_id, ''), coalesce(p_request_id, ''), coalesce(p_correlation_id, ''),
                      coalesce(p_causation_id, ''), coalesce(p_client_address, ''));
    FOR i IN 1..n LOOP
        prev := encode(sha256(convert_to(concat_ws(chr(31), prev, p_stream_id, (p_expected + i)::text,
            p_event_types[i], p_schema_versions[i]::text, p_payloads[i], meta, p_recorded_micros::text),
            'UTF8')), 'hex');
        hashes := hashes || prev;
    END LOOP;
    UPDATE eventlog_stream SET version = p_expected + n, last_hash = prev WHERE stream_id = p_stream_id;
    -- Positions drawn here in one go, in order (the column default would run a PL/pgSQL call per row).
    SELECT array_agg(nextval('eventlog_event_position_seq') ORDER BY g) INTO positions FROM generate_series(1, n) g;
    RETURN QUERY
    INSERT INTO eventlog_event (position, stream_type, stream_id, version, event_type, schema_version, payload,
        tenant_id, workspace_id, actor_kind, actor_id, request_id, correlation_id, causation_id, client_address,
        recorded_at, hash)
    SELECT u.pos, p_stream_type, p_stream_id, p_expected + u.i::integer, u.et, u.sv, u.p, p_tenant_id,
        p_workspace_id, p_actor_kind, p_actor_id, p_request_id, p_correlation_id, p_causation_id, p_client_address,
        p_recorded_at, u.h
    FROM unnest(positions, p_event_types, p_schema_versions, p_payloads, hashes) WITH ORDINALITY
        AS u(pos, et, sv, p, h, i)
    RETURNING eventlog_event.version::integer, eventlog_event.position, eventlog_event.hash::text;
END $$
"""
BACKWARD = (
    "DROP FUNCTION IF EXISTS eventlog_append(text, text, integer, text, text, text, text, text, text, text, text, "
    "timestamptz, bigint, text[], integer[], text[])"
)


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("eventlog", "0002_positions_and_immutability")]
    operations = [migrations.RunPython(forward, backward)]
