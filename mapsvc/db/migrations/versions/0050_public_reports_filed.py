"""The cases the public reported (a citizen, the 12345 hotline) that were filed, counted in the
figures: 监督举报核实数, of which a region's 监督举报率 is read (mapsvc.workflow.stats). The tally
gains the count; the cases already stored enter it by a delta of their own.

Revision ID: 0050
Revises: 0049
Create Date: 2026-12-03
"""

from alembic import op

from mapsvc.db.migrate import earlier_migration

revision = "0050"
down_revision = "0049"
branch_labels = None
depends_on = None

_TALLIES = earlier_migration("0006_clocks_and_tallies")
PUBLIC_SOURCES = "('citizen', 'hotline')"
_FILED = "           (c.filed_at IS NOT NULL)::int,\n"
MEASURES_FUNCTION = (
    _TALLIES.MEASURES_FUNCTION
    .replace("filed int, voided int", "filed int, public_filed int, voided int")
    .replace(_FILED, _FILED + f"           (c.filed_at IS NOT NULL AND c.source IN "
                              f"{PUBLIC_SOURCES})::int,\n"))
assert MEASURES_FUNCTION.count("public_filed") == 1 and PUBLIC_SOURCES in MEASURES_FUNCTION
COUNTS = tuple(c for old in _TALLIES.COUNTS
               for c in ((old, "public_filed") if old == "filed" else (old,)))


def _tally_functions(counts: tuple[str, ...]) -> str:
    """The tally's triggers' functions (as migration 0006 wrote them) over ``counts``."""
    measures = (*counts, *_TALLIES.BINS)
    select = f"""
SELECT s.kind, s.subject, m.day, {", ".join(
        [f"sum(c.sign * m.{name}) AS {name}" for name in counts]
        + [f"coalesce(sum(c.sign) FILTER (WHERE m.bin = {i}), 0) AS {name}"
           for i, name in enumerate(_TALLIES.BINS)])}
  FROM ({{rows}}) c
 CROSS JOIN LATERAL incident_measures(c.inc) m
 CROSS JOIN LATERAL (VALUES ('county', (c.inc).county_code),
                            ('township', (c.inc).township_code),
                            ('department', (c.inc).department_code),
                            ('worker', (c.inc).reporter_id::text)) s(kind, subject)
 WHERE s.subject IS NOT NULL
 GROUP BY 1, 2, 3"""
    nonzero = " OR ".join(f"t.{m} <> 0" for m in measures)
    inserted = select.format(rows="SELECT 1 AS sign, ROW(n.*)::incident AS inc FROM new_rows n")
    updated = select.format(rows="SELECT 1 AS sign, ROW(n.*)::incident AS inc FROM new_rows n "
                                 "UNION ALL SELECT -1, ROW(o.*)::incident FROM old_rows o")
    return f"""
CREATE OR REPLACE FUNCTION tally_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO incident_tally_delta (kind, subject, day, {", ".join(measures)})
    SELECT * FROM ({inserted}) t;
    RETURN NULL;
END
$$;
CREATE OR REPLACE FUNCTION tally_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO incident_tally_delta (kind, subject, day, {", ".join(measures)})
    SELECT * FROM ({updated}) t
     WHERE {nonzero};
    RETURN NULL;
END
$$;"""


def upgrade() -> None:
    for table in ("incident_tally", "incident_tally_delta"):
        op.execute(f"ALTER TABLE {table} ADD COLUMN public_filed bigint NOT NULL DEFAULT 0")
        op.execute(f"ALTER TABLE {table} ALTER COLUMN public_filed DROP DEFAULT")
    op.execute("DROP FUNCTION incident_measures(incident)")
    op.execute(MEASURES_FUNCTION)
    op.execute(_tally_functions(COUNTS))
    zeros = ", ".join(f"0 AS {m}" for m in (*_TALLIES.MEASURES,))
    op.execute(f"""
        INSERT INTO incident_tally_delta (kind, subject, day, public_filed,
                                          {", ".join(_TALLIES.MEASURES)})
        SELECT s.kind, s.subject, m.day, sum(m.public_filed), {zeros}
          FROM incident i
         CROSS JOIN LATERAL incident_measures(i) m
         CROSS JOIN LATERAL (VALUES ('county', i.county_code), ('township', i.township_code),
                                    ('department', i.department_code),
                                    ('worker', i.reporter_id::text)) s(kind, subject)
         WHERE s.subject IS NOT NULL AND m.public_filed > 0
         GROUP BY 1, 2, 3""")


def downgrade() -> None:
    op.execute("DROP FUNCTION incident_measures(incident)")
    op.execute(_TALLIES.MEASURES_FUNCTION)
    op.execute(_tally_functions(_TALLIES.COUNTS))
    for table in ("incident_tally", "incident_tally_delta"):
        op.execute(f"ALTER TABLE {table} DROP COLUMN public_filed")
