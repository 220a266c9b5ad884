"""Default SLA targets: (first reply, resolution) in calendar minutes per priority. Constants
only: the data migration, `sla.ensure_default_policies` and the no-policy fallback read them."""

SLA_TARGETS = {
    "urgent": (60, 8 * 60),
    "high": (2 * 60, 24 * 60),
    "normal": (4 * 60, 72 * 60),
    "low": (24 * 60, 7 * 24 * 60),
}
