"""What part of the incidents an account may see (its jurisdiction, 辖区), as SQL."""

from mapsvc.accounts.model import GRID_ROLES, REGION_ROLES, Account, Role
from mapsvc.geojson import Filters


def incident_scope(account: Account, filters: Filters, alias: str = "d") -> None:
    """Narrow ``filters`` to the incidents ``account`` may read.

    Grid workers and chiefs: incidents in their grids and those they reported. Command centres
    and planners: incidents in their region, including unassigned ones whose point lies in it.
    Departments: none yet, as nothing is dispatched to them before the workflow exists.
    """
    if account.sees_everything:
        return
    if account.role in GRID_ROLES:
        filters.add(f"({alias}.grid_id = ANY(:scope_grids) OR {alias}.reporter_id = :scope_me)",
                    scope_grids=list(account.grid_ids), scope_me=account.id)
    elif account.role in REGION_ROLES:
        in_region = filters.code_prefix(f"{alias}.village_code", "scope_region",
                                        account.region_code)
        filters.add(f"""({in_region}
                         OR ({alias}.grid_id IS NULL AND ST_Covers(
                             (SELECT geom FROM region WHERE code = :scope_region), {alias}.geom))
                         OR {alias}.reporter_id = :scope_me)""", scope_me=account.id)
    elif account.role is Role.department:
        filters.add("false")


def registry_scope(account: Account, filters: Filters, alias: str = "a") -> None:
    """Narrow ``filters`` to registry records (by their address ``alias``) the account may read:
    grid roles their grids, region roles their region. Departments and planners see no people."""
    if account.role is Role.admin or (account.role is Role.command and account.region_code is None):
        return
    if account.role in GRID_ROLES:
        filters.add(f"{alias}.grid_id = ANY(:scope_grids)", scope_grids=list(account.grid_ids))
    elif account.role is Role.command:
        filters.add(filters.code_prefix(f"{alias}.village_code", "scope_region",
                                        account.region_code))
    else:
        filters.add("false")
