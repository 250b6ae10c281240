"""Roles and the scope each account is bound to."""

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    grid_worker = "grid_worker"  # 网格员: their grids
    grid_chief = "grid_chief"    # 网格长: the grids they lead
    command = "command"          # 指挥中心 at city, county, township or village level: a region
    department = "department"    # 职能部门: their department's cases
    planner = "planner"          # 规划: redraws grids in a region
    admin = "admin"              # everything
    auditor = "auditor"          # 审计员: reads the audit log and the accounts' events, no more


# What the pages call each role.
ROLE_NAMES = {Role.grid_worker: "网格员", Role.grid_chief: "网格长", Role.command: "指挥中心",
              Role.department: "职能部门", Role.planner: "规划", Role.admin: "管理员",
              Role.auditor: "审计员"}
# Roles whose scope is a set of grids, and roles whose scope is a region (none: everywhere).
GRID_ROLES = frozenset({Role.grid_worker, Role.grid_chief})
REGION_ROLES = frozenset({Role.command, Role.planner})
# What each role is bound to, if anything: the field of an account that says it.
ROLE_SCOPES = {**{r: "grids" for r in GRID_ROLES}, **{r: "region" for r in REGION_ROLES},
               Role.department: "department"}
# Who may report incidents, and who may load them in bulk.
REPORTERS = frozenset({Role.grid_worker, Role.grid_chief, Role.command, Role.admin})
IMPORTERS = frozenset({Role.command, Role.admin})
# Who may read the audit log and what befell the accounts: an auditor sees nothing else (等保
# 2.0's separation of the system's administrator from its auditor, 三员分立).
AUDIT_READERS = frozenset({Role.admin, Role.auditor})
# How pages name a worker (SQL over an account ``a``): by the display name, else the username,
# as the grids' workers are named (migration 0029).
WORKER_NAME = "coalesce(nullif(a.display_name, ''), a.username)"


@dataclass(frozen=True)
class Account:
    """A signed-in account, as its token describes it."""

    id: int
    username: str
    role: Role
    region_code: str | None = None      # command, planner: None means the whole deployment
    department_code: str | None = None  # department
    grid_ids: tuple[int, ...] = field(default_factory=tuple)  # grid_worker, grid_chief

    def covers(self, code: str) -> bool:
        """Whether a region's (or a grid's) ``code`` lies within the account's region: any,
        for an account bound to none."""
        return self.region_code is None or code.startswith(self.region_code)

    @property
    def sees_everything(self) -> bool:
        return self.role is Role.admin or (self.role in REGION_ROLES and self.region_code is None)
