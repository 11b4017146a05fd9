"""Bulk reprocessing of archives: `nianbao batch`."""
