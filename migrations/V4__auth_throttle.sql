-- Login and refresh throttling shared by every Lambda container (and every crm-local).
--
-- Login runs before a tenant is known, so the counters cannot live under the tenant
-- policies. They are not tenant data either: each row is keyed by a SHA-256 the
-- application computes of a scope and a value ("login-email:" and the lower-cased address,
-- "login-ip:" and the source IP, ...), so the table holds no address at all.
--
-- The runtime role gets no privilege on the table. Three SECURITY DEFINER functions owned
-- by `crm_throttle` (NOLOGIN, owns this table and nothing else) are the only door, in the
-- style of `auth_login_lookup`: a caller can ask how long a set of keys is locked, record
-- one failure, or clear one key. It cannot list keys, read counts or touch anything else.
DO $$
BEGIN
    CREATE ROLE crm_throttle NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;
GRANT USAGE ON SCHEMA public TO crm_throttle;

CREATE TABLE auth_throttle (
    key           bytea PRIMARY KEY CHECK (length(key) = 32),
    -- Failures counted since window_start; a window older than the configured length
    -- starts again at the next failure.
    failures      integer NOT NULL DEFAULT 0,
    window_start  timestamptz NOT NULL DEFAULT now(),
    -- How many times this key was locked in a row: each lock lasts twice the previous.
    lockouts      integer NOT NULL DEFAULT 0,
    locked_until  timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX auth_throttle_updated_idx ON auth_throttle (updated_at);
ALTER TABLE auth_throttle OWNER TO crm_throttle;
REVOKE ALL ON auth_throttle FROM PUBLIC;

-- Seconds until the last lock among `p_keys` ends; 0 when none is locked.
CREATE FUNCTION auth_throttle_locked(p_keys bytea[])
RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT coalesce(ceil(extract(epoch FROM max(t.locked_until) - clock_timestamp()))::integer, 0)
    FROM public.auth_throttle t
    WHERE t.key = ANY (p_keys) AND t.locked_until > clock_timestamp()
$$;

-- Records one failure for `p_key`. When the failures in the window reach `p_max`, the key
-- is locked for `p_lock_secs * 2^(lockouts)` (at most `p_max_lock_secs`) and its count
-- starts again. Returns the lock's length in seconds, 0 when the key is not locked by it.
-- A key quiet for a whole window after its last lock forgets its lock history. One
-- statement (INSERT .. ON CONFLICT) so concurrent containers never lose a count.
CREATE FUNCTION auth_throttle_fail(
    p_key bytea, p_max integer, p_window_secs integer, p_lock_secs integer, p_max_lock_secs integer
)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_now       timestamptz := clock_timestamp();
    v_window    interval := make_interval(secs => greatest(p_window_secs, 1));
    v_locked    timestamptz;
    v_previous  timestamptz;
BEGIN
    INSERT INTO public.auth_throttle AS t (key, failures, window_start, updated_at)
    VALUES (p_key, 1, v_now, v_now)
    ON CONFLICT (key) DO UPDATE SET
        failures = CASE WHEN t.window_start < v_now - v_window THEN 1 ELSE t.failures + 1 END,
        window_start = CASE WHEN t.window_start < v_now - v_window THEN v_now ELSE t.window_start END,
        lockouts = CASE WHEN t.locked_until IS NOT NULL AND t.locked_until < v_now - v_window
                        THEN 0 ELSE t.lockouts END,
        updated_at = v_now
    RETURNING t.locked_until INTO v_previous;

    UPDATE public.auth_throttle t SET
        locked_until = v_now + make_interval(secs => least(
            greatest(p_lock_secs, 1)::double precision * power(2, least(t.lockouts, 30)),
            greatest(p_max_lock_secs, 1)::double precision)),
        lockouts = t.lockouts + 1,
        failures = 0,
        window_start = v_now
    WHERE t.key = p_key AND t.failures >= greatest(p_max, 1)
    RETURNING t.locked_until INTO v_locked;

    -- Forget keys idle for a day, a few at a time, so the table stays small without a job.
    IF random() < 0.01 THEN
        DELETE FROM public.auth_throttle
        WHERE key IN (SELECT key FROM public.auth_throttle
                      WHERE updated_at < v_now - interval '1 day'
                        AND (locked_until IS NULL OR locked_until < v_now)
                      LIMIT 1000);
    END IF;

    RETURN coalesce(ceil(extract(epoch FROM v_locked - v_now))::integer, 0);
END
$$;

-- A success clears the key (the account's counter; never an IP's).
CREATE FUNCTION auth_throttle_reset(p_key bytea)
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    DELETE FROM public.auth_throttle WHERE key = p_key
$$;

ALTER FUNCTION auth_throttle_locked(bytea[]) OWNER TO crm_throttle;
ALTER FUNCTION auth_throttle_fail(bytea, integer, integer, integer, integer) OWNER TO crm_throttle;
ALTER FUNCTION auth_throttle_reset(bytea) OWNER TO crm_throttle;
REVOKE ALL ON FUNCTION auth_throttle_locked(bytea[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION auth_throttle_fail(bytea, integer, integer, integer, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION auth_throttle_reset(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_throttle_locked(bytea[]) TO crm_app;
GRANT EXECUTE ON FUNCTION auth_throttle_fail(bytea, integer, integer, integer, integer) TO crm_app;
GRANT EXECUTE ON FUNCTION auth_throttle_reset(bytea) TO crm_app;
