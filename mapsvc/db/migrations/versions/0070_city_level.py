"""The city (地级市, 设区的市) above the county: a city's command centre sees its counties
together, as Anshan's city centre does above its districts, and takes the cases its counties
escalate (``escalation_level`` 'city', between the county and the departments). Its code is the
first four digits of the statistical codes below it (2103 for 鞍山市, above 210303 铁西区), so
that a city holds the cases, grids and accounts whose codes start with it, as every region does.

Revision ID: 0070
Revises: 0069
Create Date: 2026-12-05
"""

from alembic import op

revision = "0070"
down_revision = "0069"
branch_labels = None
depends_on = None


_LEVELS = "('grid', 'village', 'township', 'county', {}'department')"


def _escalation_levels(levels: str) -> None:
    op.execute("ALTER TABLE incident DROP CONSTRAINT incident_escalation_level_check, "
               "ADD CONSTRAINT incident_escalation_level_check "
               f"CHECK (escalation_level IN {levels})")


def upgrade() -> None:
    op.execute("INSERT INTO region_level VALUES ('city', 0, '地级市', 4)")
    _escalation_levels(_LEVELS.format("'city', "))


def downgrade() -> None:
    op.execute("UPDATE incident SET escalation_level = 'county' WHERE escalation_level = 'city'")
    _escalation_levels(_LEVELS.format(""))
    op.execute("UPDATE region SET parent_code = NULL WHERE level = 'county'")
    op.execute("DELETE FROM region WHERE level = 'city'")
    op.execute("DELETE FROM region_level WHERE code = 'city'")
