"""Duplicate suggestions as a SQL function of the new incident, so that the statement storing a
report can answer with them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Open cases of the same category near ``new`` and reported around the same time. Radius and
# window are the category's properties duplicate_radius_m and duplicate_hours, inherited from
# the nearest ancestor that sets them, else 50 m and 72 h. Called while ``new`` is being stored,
# the new row itself is not yet visible, so it never suggests itself.
SUGGEST = r"""
CREATE FUNCTION duplicate_suggestions(new incident) RETURNS json LANGUAGE plpgsql STABLE AS $$
BEGIN
    -- PL/pgSQL keeps the plan of this query for the session; a SQL function would plan it anew
    -- on every call
    RETURN (WITH RECURSIVE up AS (
        SELECT c.code, c.parent_code, c.properties, 0 AS depth
          FROM category c WHERE c.code = new.category_code
        UNION ALL
        SELECT c.code, c.parent_code, c.properties, up.depth + 1
          FROM up JOIN category c ON c.code = up.parent_code
    ), rule AS (
        SELECT coalesce((SELECT (properties->>'duplicate_radius_m')::float8 FROM up
                          WHERE properties ? 'duplicate_radius_m' ORDER BY depth LIMIT 1),
                        50) AS radius_m,
               coalesce((SELECT (properties->>'duplicate_hours')::float8 FROM up
                          WHERE properties ? 'duplicate_hours' ORDER BY depth LIMIT 1),
                        72) AS hours
    ), near AS (
        SELECT o.id, round(ST_Distance(o.geom::geography, new.geom::geography)::numeric, 1) AS d
          FROM rule, incident o
         WHERE o.id <> new.id AND o.category_code = new.category_code
           AND o.status IN ('reported', 'verifying', 'filed', 'dispatched', 'in_progress',
                            'handled', 'checking')
           -- a box holding the circle below 60 degrees latitude, for the index
           AND ST_DWithin(o.geom, new.geom, rule.radius_m / 50000.0)
           AND ST_DWithin(o.geom::geography, new.geom::geography, rule.radius_m)
           AND abs(extract(epoch FROM o.reported_at - new.reported_at)) <= rule.hours * 3600
         ORDER BY d, o.id
         LIMIT 5
    )
    SELECT coalesce(json_agg(json_build_object('id', id, 'distance_m', d) ORDER BY d, id), '[]')
      FROM near);
END
$$;
"""


def upgrade() -> None:
    op.execute(SUGGEST)


def downgrade() -> None:
    op.execute("DROP FUNCTION duplicate_suggestions")
