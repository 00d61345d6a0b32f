"""Prefect tasks that read the tenant through `ws1ai.uem`. Retries live in the client, not here (rule 1)."""

from __future__ import annotations

from itertools import islice

from prefect import task

from ws1ai.policies.compliance import DeviceFacts
from ws1ai.uem import UEMClient
from ws1ai.uem.schemas.devices import DeviceV1

__all__ = ["read_non_compliant_devices", "resolve_remediation_targets"]


def _facts(device: DeviceV1) -> DeviceFacts | None:
    if device.id is None or device.id.value is None:
        return None
    return DeviceFacts(
        device_id=device.id.value,
        platform=device.platform or "",
        model=device.model or "",
        os_version=device.operating_system or "",
        compliance_status=device.compliance_status or "NotAvailable",
        compromised=bool(device.compromised_status),
        encrypted=(device.data_encryption_yn or "").upper() in {"Y", "YES", "TRUE"},
    )


@task(name="read-non-compliant-devices", retries=0)
def read_non_compliant_devices(device_ids: list[int] | None, limit: int | None) -> list[DeviceFacts]:
    """The named devices (event-triggered runs), or a bulk search of non-compliant ones (scheduled sweeps)."""
    with UEMClient(read_only=True) as client:
        if device_ids:
            found = [client.devices.get(device_id) for device_id in device_ids[:limit]]
            devices = [d for d in found if d.compliance_status == "NonCompliant"]
        else:
            devices = list(islice(client.devices.iter_search(compliant_status=False), limit))
    return [f for f in (_facts(d) for d in devices) if f is not None]


@task(name="resolve-remediation-targets")
def resolve_remediation_targets(
    profile_names: dict[str, str], quarantine_tag: str
) -> tuple[dict[str, int], int | None]:
    """Profile ids by platform (exact names, e.g. FileVault for macOS) and the quarantine tag's id.

    Missing ones are simply absent: the policy escalates to a human instead of guessing.
    """
    profile_ids: dict[str, int] = {}
    with UEMClient(read_only=True) as client:
        for platform, name in profile_names.items():
            for profile in client.profiles.iter_search(profile_name=name):
                if profile.profile_name == name and profile.id is not None and profile.id.value is not None:
                    profile_ids[platform] = profile.id.value
                    break
        tag_id = next(
            (
                t.id.value
                for t in client.tags.iter_search(name=quarantine_tag)
                if t.tag_name == quarantine_tag and t.id is not None
            ),
            None,
        )
    return profile_ids, tag_id
