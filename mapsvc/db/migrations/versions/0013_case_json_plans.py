"""A case's JSON and clocks in PL/pgSQL: a SQL function that cannot be inlined is planned
again on every call, which made each case's JSON cost about 0.3 ms (a list of a thousand cases
0.3 s) and each report's answer about 3 ms; PL/pgSQL keeps the plan for the session. The bodies
stay as they are.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-22
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

FUNCTIONS = "('incident_json', 'incident_clocks')"
_PREFIX, _SUFFIX = "BEGIN RETURN (", "); END"


def _recreate(language: str, body: str) -> None:
    op.execute(f"""
        DO $$ DECLARE f record; BEGIN
            FOR f IN SELECT p.proname, pg_get_function_arguments(p.oid) AS arguments,
                            pg_get_function_result(p.oid) AS result, p.prosrc
                       FROM pg_proc p WHERE p.proname IN {FUNCTIONS} LOOP
                EXECUTE format('CREATE OR REPLACE FUNCTION %I(%s) RETURNS %s LANGUAGE {language} '
                               'STABLE PARALLEL SAFE AS %L', f.proname, f.arguments, f.result,
                               {body});
            END LOOP;
        END $$""")


def upgrade() -> None:
    _recreate("plpgsql", f"'{_PREFIX}' || f.prosrc || '{_SUFFIX}'")


def downgrade() -> None:
    _recreate("sql", f"substr(f.prosrc, {len(_PREFIX) + 1}, "
                     f"length(f.prosrc) - {len(_PREFIX) + len(_SUFFIX)})")
