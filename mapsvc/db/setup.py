"""Make the database ready: start the embedded cluster when used, create the database, migrate."""

from sqlalchemy.engine import make_url

from mapsvc.db.cluster import Cluster
from mapsvc.db.migrate import upgrade
from mapsvc.settings import ClusterSettings, DatabaseSettings


def prepare_database(*, fresh: bool = False) -> str:
    """Bring the configured database to the newest schema and return its URL.

    ``fresh`` drops and recreates it first (the test suite's throwaway database); it is only
    honoured on the embedded cluster, never on a database named by ``MAPSVC_DATABASE_URL``.
    """
    settings = DatabaseSettings()
    if settings.uses_embedded_cluster:
        cluster = Cluster(ClusterSettings())
        cluster.start()
    url = settings.sqlalchemy_url()
    if settings.uses_embedded_cluster:
        cluster.ensure_database(make_url(url).database, fresh=fresh)
    upgrade(url)
    return url
