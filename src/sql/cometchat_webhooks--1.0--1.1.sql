-- cometchat_webhooks 1.0 -> 1.1: privileges, search_path pinning and optional
-- per-app row-level security.
\echo Use "ALTER EXTENSION cometchat_webhooks UPDATE TO '1.1'" to load this file. \quit

------------------------------------------------------------------------
-- Indexes lead with the id they find rows by, app_id second, so that each
-- statement of the trigger has exactly one index that fits it whatever the
-- tables' statistics; participants need only their primary key.
------------------------------------------------------------------------
DROP INDEX cometchat.events_session, cometchat.events_call,
           cometchat.calls_session, cometchat.calls_unlinked,
           cometchat.calls_conversation, cometchat.calls_call_id,
           cometchat.call_outcomes_conversation, cometchat.call_outcomes_link,
           cometchat.participants_by_time;
CREATE INDEX events_session ON cometchat.events (session_id, app_id, occurred_at);
CREATE INDEX events_call ON cometchat.events (call_id, app_id) WHERE call_id IS NOT NULL;
CREATE UNIQUE INDEX calls_session ON cometchat.calls (session_id, app_id);
CREATE UNIQUE INDEX calls_unlinked ON cometchat.calls (call_id, app_id) WHERE session_id IS NULL;
CREATE INDEX calls_conversation ON cometchat.calls (conversation_id, app_id, initiated_at);
CREATE INDEX calls_call_id ON cometchat.calls (call_id, app_id);
ALTER TABLE cometchat.call_outcomes DROP CONSTRAINT call_outcomes_pkey,
                                    ADD PRIMARY KEY (outcome_id, app_id);
CREATE INDEX call_outcomes_conversation ON cometchat.call_outcomes (conversation_id, app_id, sent_at);
CREATE INDEX call_outcomes_link ON cometchat.call_outcomes (linked_call_id, app_id);

------------------------------------------------------------------------
-- Privileges
--
-- A receiver needs only:
--   GRANT USAGE ON SCHEMA cometchat TO receiver;
--   GRANT INSERT (payload) ON cometchat.events TO receiver;
--   GRANT EXECUTE ON FUNCTION cometchat.ingest(jsonb), cometchat.ingest_raw(text) TO receiver;
-- The trigger (from the 1.1 library on) writes the quarantine and the
-- lifecycle tables as their owner, under a search path of pg_catalog alone,
-- so nothing a caller creates in public or pg_temp is ever looked up by it.
------------------------------------------------------------------------
-- ingest() and ingest_raw() pin their search path in C, for just their own
-- statement; a SET clause would cost a configuration save and restore per call.
ALTER FUNCTION cometchat.ingest(jsonb) RESET search_path;
ALTER FUNCTION cometchat.ingest_raw(text) RESET search_path;

-- The view reads the tables as the querying role, so per-app row-level
-- security applies to it as well.
ALTER VIEW cometchat.call_lifecycle SET (security_invoker = true);

REVOKE ALL ON FUNCTION cometchat.ingest(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION cometchat.ingest_raw(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION cometchat._events_trigger() FROM PUBLIC;
REVOKE ALL ON FUNCTION cometchat._replay() FROM PUBLIC;
REVOKE ALL ON FUNCTION cometchat.rebuild() FROM PUBLIC;
REVOKE ALL ON FUNCTION cometchat.verify() FROM PUBLIC;
REVOKE ALL ON FUNCTION cometchat._lifecycle_rows() FROM PUBLIC;

------------------------------------------------------------------------
-- Optional per-app row-level security
--
-- cometchat.app_access says which roles (and their members) see which
-- apps.  cometchat.enable_app_security() adds the one row of
-- cometchat.app_security, whose trigger switches row-level security on for
-- every table (and off when the row goes).  The switch is data, so pg_dump
-- keeps it, and restoring the row switches the tables on again: pg_dump keeps
-- no ALTER TABLE ... ENABLE ROW LEVEL SECURITY of an extension's tables.
-- The tables' owner bypasses the policies, so the trigger's maintenance is
-- unaffected; for other roles the ingest trigger applies the insert policy
-- to duplicates and invalid payloads too, which the table never sees.
-- (While it is on, PostgreSQL refuses COPY FROM to roles the policies apply
-- to: such receivers use INSERT or cometchat.ingest().)
------------------------------------------------------------------------
CREATE TABLE cometchat.app_access (
    role_name regrole NOT NULL,
    app_id    text NOT NULL,
    PRIMARY KEY (role_name, app_id)
);
COMMENT ON TABLE cometchat.app_access IS 'per-app row-level security: members of role_name see (and receive) app_id; active after cometchat.enable_app_security()';
ALTER TABLE cometchat.app_access ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON cometchat.app_access FOR SELECT
    USING (pg_catalog.pg_has_role(role_name, 'MEMBER'));
GRANT SELECT ON cometchat.app_access TO PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('cometchat.app_access', '');

CREATE TABLE cometchat.app_security (
    enabled_at timestamptz NOT NULL DEFAULT now(),
    enabled_by name NOT NULL DEFAULT current_user,
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton)
);
COMMENT ON TABLE cometchat.app_security IS 'one row while per-app row-level security is on (cometchat.enable_app_security())';
SELECT pg_catalog.pg_extension_config_dump('cometchat.app_security', '');

CREATE FUNCTION cometchat._app_security_switch() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    wanted boolean := EXISTS (SELECT FROM cometchat.app_security);
    t text;
BEGIN
    -- Only the tables whose state differs from the switch: a no-op otherwise.
    FOR t IN SELECT c.relname FROM pg_class c
             WHERE c.relnamespace = 'cometchat'::regnamespace
               AND c.relname IN ('events', 'rejected', 'sessions', 'calls', 'call_outcomes',
                                 'participants', 'recordings')
               AND c.relrowsecurity <> wanted
             ORDER BY c.relname
    LOOP
        EXECUTE format('ALTER TABLE cometchat.%I %s ROW LEVEL SECURITY', t,
                       CASE WHEN wanted THEN 'ENABLE' ELSE 'DISABLE' END);
    END LOOP;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION cometchat._app_security_switch() FROM PUBLIC;
CREATE TRIGGER app_security_switch AFTER INSERT OR DELETE ON cometchat.app_security
    FOR EACH ROW EXECUTE FUNCTION cometchat._app_security_switch();
CREATE TRIGGER app_security_switch_truncate AFTER TRUNCATE ON cometchat.app_security
    FOR EACH STATEMENT EXECUTE FUNCTION cometchat._app_security_switch();

CREATE FUNCTION cometchat.app_visible(app_id text) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (SELECT 1 FROM cometchat.app_access a
                   WHERE a.app_id = $1 AND pg_has_role(a.role_name, 'MEMBER'))
$$;
COMMENT ON FUNCTION cometchat.app_visible(text) IS 'true when the current role may see and receive rows of this app under per-app row-level security';

CREATE POLICY app_rows ON cometchat.events FOR SELECT USING (cometchat.app_visible(app_id));
CREATE POLICY app_receive ON cometchat.events FOR INSERT WITH CHECK (cometchat.app_visible(app_id));
CREATE POLICY app_rows ON cometchat.rejected FOR SELECT USING (cometchat.app_visible(payload->>'appId'));
CREATE POLICY app_rows ON cometchat.sessions FOR SELECT USING (cometchat.app_visible(app_id));
CREATE POLICY app_rows ON cometchat.calls FOR SELECT USING (cometchat.app_visible(app_id));
CREATE POLICY app_rows ON cometchat.call_outcomes FOR SELECT USING (cometchat.app_visible(app_id));
CREATE POLICY app_rows ON cometchat.participants FOR SELECT USING (cometchat.app_visible(app_id));
CREATE POLICY app_rows ON cometchat.recordings FOR SELECT USING (cometchat.app_visible(app_id));

CREATE FUNCTION cometchat.enable_app_security(enable boolean DEFAULT true) RETURNS void
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
    DELETE FROM cometchat.app_security WHERE NOT $1;
    INSERT INTO cometchat.app_security SELECT WHERE $1 ON CONFLICT (singleton) DO NOTHING;
$$;
COMMENT ON FUNCTION cometchat.enable_app_security(boolean) IS 'switches per-app row-level security (cometchat.app_access) on or off for every table';
REVOKE ALL ON FUNCTION cometchat.enable_app_security(boolean) FROM PUBLIC;
