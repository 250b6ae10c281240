"""Incidents (事件): intake from phones, the hotline and files, each assigned to its grid."""
