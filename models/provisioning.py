"""Role bundles: what a new hire in a department and role should receive, learned from their peers.

For each (department, role) group with enough devices, the support of an item is the share of the group's
devices that hold it (profiles from `device_profiles`, apps from `app_installs`); smart groups are included
when their department/role criteria match the group (support 1.0, by definition of membership). Items at
or above the minimum support form the bundle; the support is the explanation ("83 % of peers have it").
"""

from __future__ import annotations

import polars as pl

__all__ = ["BUNDLE_COLUMNS", "learn_bundles"]

BUNDLE_COLUMNS = {
    "department": pl.String,
    "role": pl.String,
    "item_kind": pl.String,
    "item_id": pl.Int64,
    "support": pl.Float64,
    "peers": pl.Int64,
}


def learn_bundles(
    devices: pl.DataFrame,
    device_profiles: pl.DataFrame,
    app_installs: pl.DataFrame,
    smart_groups: pl.DataFrame,
    min_support: float = 0.6,
    min_peers: int = 3,
) -> pl.DataFrame:
    """Bundle rows (department, role, item_kind, item_id, support, peers), strongest items first."""
    people = devices.select("device_id", "department", "role").drop_nulls(["department", "role"])
    size = (
        people.group_by("department", "role")
        .agg(pl.len().alias("peers"))
        .filter(pl.col("peers") >= min_peers)
    )

    def shares(holdings: pl.DataFrame, id_col: str, kind: str) -> pl.DataFrame:
        held = holdings.select("device_id", pl.col(id_col).alias("item_id")).unique()
        return (
            held.join(people, on="device_id")
            .group_by("department", "role", "item_id")
            .agg(pl.len().alias("holders"))
            .join(size, on=["department", "role"])
            .select(
                "department",
                "role",
                pl.lit(kind).alias("item_kind"),
                "item_id",
                (pl.col("holders") / pl.col("peers")).alias("support"),
                "peers",
            )
        )

    sg = smart_groups.select(
        pl.col("smart_group_id").alias("item_id"),
        pl.col("department").alias("sg_dept"),
        pl.col("role").alias("sg_role"),
    )
    groups = (
        size.join(sg, how="cross")
        .filter(
            (pl.col("sg_dept").is_null() | (pl.col("sg_dept") == pl.col("department")))
            & (pl.col("sg_role").is_null() | (pl.col("sg_role") == pl.col("role")))
        )
        .select(
            "department",
            "role",
            pl.lit("smart_group").alias("item_kind"),
            "item_id",
            pl.lit(1.0).alias("support"),
            "peers",
        )
    )
    parts = [shares(device_profiles, "profile_id", "profile"), shares(app_installs, "app_id", "app"), groups]
    out = pl.concat([p.cast(BUNDLE_COLUMNS) for p in parts])  # type: ignore[arg-type]
    return (
        out.filter(pl.col("support") >= min_support)
        .cast(BUNDLE_COLUMNS)  # type: ignore[arg-type]
        .sort(
            ["department", "role", "item_kind", "support", "item_id"],
            descending=[False, False, False, True, False],
        )
    )
