"""What part of the incidents an account may see (its jurisdiction, 辖区), as SQL."""

from dataclasses import dataclass

from mapsvc.accounts.model import GRID_ROLES, REGION_ROLES, Account, Role
from mapsvc.geojson import Filters

# The cases that what the account reported was merged into: its reporter follows them.
_MERGED_INTO = ("SELECT dup.duplicate_of FROM incident dup "
                "WHERE dup.reporter_id = :scope_me AND dup.duplicate_of IS NOT NULL")


def incident_scope_key(account: Account) -> tuple:
    """What of the account ``incident_scope`` reads: accounts alike in it see the same cases."""
    return (*registry_scope_key(account), account.department_code, account.id)


def incident_scope(account: Account, filters: Filters, alias: str = "d") -> None:
    """Narrow ``filters`` to the incidents ``account`` may read.

    Grid workers and chiefs: incidents in their grids and those they reported. Command centres
    and planners: incidents in their region, including unassigned ones whose point lies in it.
    Whoever reported a case merged into another also follows that other.
    Departments: the cases dispatched to them. Auditors: none.
    """
    if account.sees_everything:
        return
    if account.role in GRID_ROLES:
        filters.add(f"({alias}.grid_id = ANY(:scope_grids) OR {alias}.reporter_id = :scope_me"
                    f" OR {alias}.id = ANY(ARRAY({_MERGED_INTO})))",
                    scope_grids=list(account.grid_ids), scope_me=account.id)
    elif account.role in REGION_ROLES:
        region = region_cases(account, filters, alias)
        filters.add(f"({region.inside} OR {region.beyond})")
    elif account.role is Role.department:
        filters.add(f"{alias}.department_code = :scope_department",
                    scope_department=account.department_code)
    else:
        filters.add("false")


@dataclass(frozen=True)
class RegionCases:
    """A region account's cases as two conditions on a case, which a statement may also read
    apart: ``inside``, its village lies in the region; ``beyond``, a case outside the region
    the account reads all the same (an unassigned case whose point lies in the region, its own
    report, a case its report was merged into). Each part of ``beyond`` is served by an index."""
    inside: str
    beyond: str


def region_cases(account: Account, filters: Filters, alias: str = "d") -> RegionCases:
    """The cases of a command or planner account bound to a region; sets the parameters
    ``scope_region`` (its code) and ``scope_me`` on ``filters``."""
    inside = filters.code_prefix(f"{alias}.village_code", "scope_region", account.region_code)
    filters.params["scope_me"] = account.id
    return RegionCases(inside, f"""(({alias}.grid_id IS NULL AND ST_Covers(
                                      (SELECT geom FROM region WHERE code = :scope_region),
                                      {alias}.geom))
                                  OR {alias}.reporter_id = :scope_me
                                  OR {alias}.id = ANY(ARRAY({_MERGED_INTO})))""")


def registry_scope_key(account: Account) -> tuple:
    """What of the account ``registry_scope`` reads: accounts alike in it see the same
    records."""
    return (account.role, account.region_code, account.grid_ids)


def registry_scope(account: Account, filters: Filters, alias: str = "a", *,
                   grid_column: str = "grid_id", people: bool = True) -> None:
    """Narrow ``filters`` to registry records the account may read, by the grid (``alias``.
    ``grid_column``) and village code of their place: grid roles their grids, command centres
    their region. Planners see the places of their region, never people; departments neither."""
    if account.role is Role.admin:
        return
    if account.role in GRID_ROLES:
        filters.add(f"{alias}.{grid_column} = ANY(:scope_grids)",
                    scope_grids=list(account.grid_ids))
    elif account.role is Role.command or (account.role is Role.planner and not people):
        if account.region_code is not None:
            filters.add(filters.code_prefix(f"{alias}.village_code", "scope_region",
                                            account.region_code))
    else:
        filters.add("false")
