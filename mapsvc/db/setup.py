"""Make the database ready: start the embedded cluster when used, create the database, migrate."""

from dataclasses import asdict
from datetime import date

from sqlalchemy.engine import make_url

from mapsvc.db.cluster import Cluster
from mapsvc.db.migrate import upgrade
from mapsvc.settings import ClusterSettings, DatabaseSettings


def prepare_database(*, fresh: bool = False) -> str:
    """Bring the configured database to the newest schema and return its URL.

    ``fresh`` drops and recreates it first (the test suite's throwaway database); it is only
    honoured on the embedded cluster, never on a database named by ``MAPSVC_DATABASE_URL``.
    """
    url = reach_database(fresh=fresh)
    upgrade(url)
    seed_calendar(url)
    return url


def reach_database(*, fresh: bool = False) -> str:
    """The configured database's URL, the embedded cluster started and the database created
    if missing (dropped and created again first when ``fresh``, there only)."""
    settings = DatabaseSettings()
    if settings.uses_embedded_cluster:
        cluster = Cluster(ClusterSettings())
        cluster.start()
    url = settings.sqlalchemy_url()
    if settings.uses_embedded_cluster:
        cluster.ensure_database(make_url(url).database, fresh=fresh)
    return url


def seed_calendar(url: str) -> None:
    """The official holidays and make-up working days of this year and the next, where known,
    named for their festivals; days already in the calendar (perhaps edited locally) are left
    as they are, but for the name of one the calendar held unnamed."""
    from sqlalchemy import create_engine, text

    from mapsvc.workflow.calendar import official_days

    this_year = date.today().year
    rows = [asdict(d) for year in (this_year, this_year + 1) for d in official_days(year)]
    if not rows:
        return
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO calendar_day AS c (day, kind, name) VALUES (:day, :kind, :name)
            ON CONFLICT (day) DO UPDATE SET name = excluded.name
             WHERE c.name = '' AND c.kind = excluded.kind"""), rows)
    engine.dispose()
