"""A patrol's track is erased once the privacy settings' days are over (行踪轨迹, sensitive
under PIPL article 28): what the patrol proved (its times, length and the grids it passed
through) stays, and is still never changed or deleted.

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-02
"""

from alembic import op

revision = "0043"
down_revision = "0042"
branch_labels = None
depends_on = None

_KEPT = ("id", "client_id", "account_id", "started_at", "ended_at", "length_m", "note",
         "received_at")


def _triggers(erasable: bool) -> str:
    """The triggers that keep patrols; ``erasable``: but for their tracks' erasure."""
    refuse = "EXECUTE FUNCTION refuse_change('patrols are records of work done')"
    if not erasable:
        return f"""
DROP TRIGGER patrol_kept ON patrol; DROP TRIGGER patrol_changed_but_its_track ON patrol;
CREATE TRIGGER patrol_kept BEFORE UPDATE OR DELETE ON patrol FOR EACH ROW {refuse};
"""
    old, new = (", ".join(f"{row}.{c}" for c in _KEPT) for row in ("OLD", "NEW"))
    return f"""
DROP TRIGGER patrol_kept ON patrol;
CREATE TRIGGER patrol_kept BEFORE DELETE ON patrol FOR EACH ROW {refuse};
CREATE TRIGGER patrol_changed_but_its_track BEFORE UPDATE ON patrol FOR EACH ROW
    WHEN (NOT (NEW.track IS NULL AND ({new}) IS NOT DISTINCT FROM ({old}))) {refuse};
"""


def upgrade() -> None:
    op.execute("ALTER TABLE patrol ALTER COLUMN track DROP NOT NULL")
    # the tracks still kept, by when they ended: those to erase found without the erased
    op.execute("CREATE INDEX patrol_track_kept_idx ON patrol (ended_at) WHERE track IS NOT NULL")
    op.execute(_triggers(erasable=True))


def downgrade() -> None:
    op.execute(_triggers(erasable=False))
    op.execute("DROP INDEX patrol_track_kept_idx")
    op.execute("ALTER TABLE patrol ALTER COLUMN track SET NOT NULL")  # none erased, or refused
