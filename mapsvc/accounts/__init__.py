"""Accounts, roles and jurisdiction (辖区): who may see and do what, where."""
