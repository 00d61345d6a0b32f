"""Device renderings in each API version's exact shape (docs/uem-api.md#devices).

v1 is PascalCase with the `DeviceExtended` field list (search items) / `Device` (by id = same minus
`EasIds`, `TimeZone`); v2 is camelCase `GetDeviceResponseV2Model`; v3 is snake_case `DeviceResponseV3Model`.
"""

from __future__ import annotations

import zlib
from typing import Any

from ws1ai.sandbox.identifiers import (
    asset_number,
    capacity_gb,
    fmt_ts,
    imei,
    mac_address,
    phone_number,
    udid,
)
from ws1ai.sandbox.records import DeviceRecord
from ws1ai.sandbox.state import SandboxState

__all__ = [
    "PLATFORM_IDS",
    "compliance_policies",
    "device_v1",
    "device_v2",
    "device_v3",
    "friendly_name",
    "ownership_word",
]

PLATFORM_IDS = {"Apple": 2, "Android": 5, "WinRT": 12, "AppleOsX": 10, "Linux": 21}
_OWNERSHIP = {"C": "CorporateDedicated", "E": "EmployeeOwned", "S": "CorporateShared"}
_OWNERSHIP_V2 = {"C": "CORPORATE_DEDICATED", "E": "EMPLOYEE", "S": "CORPORATE_SHARED"}
_OEM = {
    "Apple": "Apple Inc.",
    "AppleOsX": "Apple Inc.",
    "Android": "Samsung",
    "WinRT": "Dell Inc.",
    "Linux": "Lenovo",
}
_OS_NAME = {
    "Apple": "iOS",
    "AppleOsX": "macOS",
    "Android": "Android",
    "WinRT": "Windows Desktop",
    "Linux": "Linux",
}
_MANUFACTURER_ID = {"Apple": 1, "AppleOsX": 1, "Android": 4, "WinRT": 7, "Linux": 9}
_ARCH = {"Apple": 12, "AppleOsX": 12, "Android": 12, "WinRT": 9, "Linux": 9}  # 9 = x64, 12 = ARM64
_GB = 1024**3


def ownership_word(code: str) -> str:
    """v1 search filter uses C/E/S; device objects carry the word."""
    return _OWNERSHIP.get(code, "Undefined")


def friendly_name(rec: DeviceRecord) -> str:
    return f"{rec.user_name} {rec.model} {_OS_NAME.get(rec.platform, rec.platform)} {rec.os_version}"


def _battery_charge(rec: DeviceRecord, state: SandboxState) -> str:
    # BatteryLevel is the *charge* (changes every check-in); health lives in the sensors and the report.
    if rec.battery_health is None:
        return ""
    return f"{20 + (rec.id * 37 + state.today().toordinal()) % 81}%"


def _ref(value: int, name: str, uuid: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"Id": {"Value": value}, "Name": name}
    if uuid is not None:
        out["Uuid"] = uuid
    return out


def compliance_policies(rec: DeviceRecord) -> list[dict[str, Any]]:
    check = fmt_ts(rec.last_compliance_check)
    # A non-compliant device that is encrypted and not compromised fails on its OS version.
    bad = rec.compliance == "NonCompliant"
    os_ok = not (bad and rec.encrypted and not rec.compromised)
    policies = [
        ("Encryption Required", rec.encrypted or not bad),
        ("Compromised Device", not rec.compromised or not bad),
        ("OS Version", os_ok),
    ]
    return [
        {
            "CompliantStatus": ok,
            "PolicyName": name,
            "PolicyDetail": f"{name} policy",
            "LastComplianceCheck": check,
            "NextComplianceCheck": check,
            "ActionTaken": [{"ActionType": 0 if ok else 1}],
            "Id": {"Value": rec.id * 10 + i},
            "Uuid": f"{rec.uuid[:-2]}{i:02d}",
        }
        for i, (name, ok) in enumerate(policies)
    ]


def device_v1(rec: DeviceRecord, state: SandboxState, *, extended: bool) -> dict[str, Any]:
    og = state.org_groups.get(rec.lgid, {"name": f"Site {rec.lgid}", "uuid": ""})
    cap = capacity_gb(rec.id, rec.platform)
    user_id = state.user_id_for(rec.user_email)
    mac, phone = mac_address(rec.id), phone_number(rec.id, rec.platform)
    out: dict[str, Any] = {}
    if extended:
        out["EasIds"] = {}
        out["TimeZone"] = ""
    out.update(
        {
            "Udid": udid(rec.id),
            "SerialNumber": rec.serial,
            "MacAddress": mac,
            "Imei": imei(rec.id, rec.platform),
            "EasId": "",
            "AssetNumber": asset_number(rec.id),
            "DeviceFriendlyName": friendly_name(rec),
            "DeviceReportedName": f"{rec.user_name}'s {rec.model}",
            "LocationGroupId": _ref(rec.lgid, og["name"], og["uuid"]),
            "LocationGroupName": og["name"],
            "UserId": _ref(
                user_id, rec.user_name, state.users[user_id]["uuid"] if user_id in state.users else ""
            ),
            "UserName": rec.user_name,
            "DataProtectionStatus": 1 if rec.encrypted else 0,
            "UserEmailAddress": rec.user_email,
            "Ownership": ownership_word(rec.ownership),
            "PlatformId": _ref(PLATFORM_IDS.get(rec.platform, 0), rec.platform),
            "Platform": rec.platform,
            "ModelId": _ref(_model_id(rec.model), rec.model),
            "Model": rec.model,
            "OperatingSystem": rec.os_version,
            "PhoneNumber": phone,
            "LastSeen": fmt_ts(rec.last_seen),
            "EnrollmentStatus": rec.enrollment_status,
            "ComplianceStatus": rec.compliance,
            "CompromisedStatus": rec.compromised,
            "LastEnrolledOn": fmt_ts(rec.enrolled_on),
            "LastComplianceCheckOn": fmt_ts(rec.last_compliance_check),
            "LastCompromisedCheckOn": fmt_ts(rec.last_seen),
            "ComplianceSummary": {"DeviceCompliance": compliance_policies(rec)},
            "IsSupervised": rec.ownership != "E" and rec.platform in ("Apple", "AppleOsX"),
            "DeviceMCC": {"SIMMCC": "310" if phone else "", "CurrentMCC": "310" if phone else ""},
            "IsRemoteManagementEnabled": "true",
            "DataEncryptionYN": "Y" if rec.encrypted else "N",
            "AcLineStatus": 0 if rec.battery_health is not None else 1,
            "VirtualMemory": 0,
            "OEMInfo": _OEM.get(rec.platform, ""),
            "DeviceCapacity": cap,
            "AvailableDeviceCapacity": round(cap * (1.0 - rec.storage_used_pct / 100.0), 2),
            "LastSystemSampleTime": fmt_ts(rec.last_seen),
            "IsDeviceDNDEnabled": False,
            "IsDeviceLocatorEnabled": True,
            "IsCloudBackupEnabled": rec.platform == "Apple",
            "IsActivationLockEnabled": rec.platform == "Apple",
            "IsNetworkTethered": False,
            "BatteryLevel": _battery_charge(rec, state),
            "IsRoaming": False,
            "LastNetworkLANSampleTime": fmt_ts(rec.last_seen),
            "LastBluetoothSampleTime": fmt_ts(rec.last_seen),
            "SystemIntegrityProtectionEnabled": rec.platform == "AppleOsX",
            "ProcessorArchitecture": _ARCH.get(rec.platform, 9),
            "UserApprovedEnrollment": rec.platform == "AppleOsX",
            "EnrolledViaDEP": rec.ownership == "C" and rec.platform in ("Apple", "AppleOsX"),
            "TotalPhysicalMemory": 16 * 1024 if rec.platform in ("WinRT", "AppleOsX") else 6 * 1024,
            "AvailablePhysicalMemory": 6 * 1024 if rec.platform in ("WinRT", "AppleOsX") else 2 * 1024,
            "OSBuildVersion": rec.os_version.replace(".", ""),
            "HostName": f"{rec.serial.lower()}.corp.local",
            "LocalHostName": rec.serial.lower(),
            "SecurityPatchDate": fmt_ts(None),
            "SystemUpdateReceivedTime": fmt_ts(None),
            "IsSecurityPatchUpdate": False,
            "DeviceManufacturerId": _MANUFACTURER_ID.get(rec.platform, 0),
            "DeviceNetworkInfo": [
                {
                    "ConnectionType": "Ethernet" if rec.platform == "WinRT" else "WiFi",
                    "IPAddress": _ip(rec.id),
                    "MACAddress": mac,
                    "Name": "en0",
                    "Vendor": "",
                }
            ],
            "DeviceCellularNetworkInfo": (
                [
                    {
                        "CarrierName": "Sandbox Mobile",
                        "CardId": "",
                        "PhoneNumber": phone,
                        "DeviceMCC": {"SIMMCC": "310", "CurrentMCC": "310"},
                        "IsRoaming": False,
                    }
                ]
                if phone
                else []
            ),
            "EnrollmentUserUuid": state.users[user_id]["uuid"] if user_id in state.users else "",
            "ManagedBy": 1,
            "WifiSsid": "CorpWiFi" if rec.platform != "WinRT" else "",
            "DepTokenSource": 0,
            "Id": {"Value": rec.id},
            "Uuid": rec.uuid,
        }
    )
    return out


def _model_id(model: str) -> int:
    # Stable across runs and processes (str hash is salted per process).
    return 100 + zlib.crc32(model.encode()) % 900


def _ip(device_id: int) -> str:
    return f"10.{(device_id >> 16) & 255}.{(device_id >> 8) & 255}.{device_id & 255}"


def _storage(rec: DeviceRecord) -> tuple[int, int]:
    total = int(capacity_gb(rec.id, rec.platform) * _GB)
    return total, int(total * (1.0 - rec.storage_used_pct / 100.0))


def device_v2(rec: DeviceRecord, state: SandboxState, base_url: str) -> dict[str, Any]:
    og = state.org_groups.get(rec.lgid, {"name": "", "uuid": ""})
    user_id = state.user_id_for(rec.user_email)
    total, avail = _storage(rec)
    charge = _battery_charge(rec, state).rstrip("%")
    return {
        "udid": udid(rec.id),
        "serialNumber": rec.serial,
        "macAddress": mac_address(rec.id),
        "imei": imei(rec.id, rec.platform),
        "friendlyName": friendly_name(rec),
        "organizationGroupName": og["name"],
        "batteryLevelPercentage": charge,
        "supervised": rec.ownership != "E" and rec.platform in ("Apple", "AppleOsX"),
        "dataEncrypted": rec.encrypted,
        "platformInfo": {
            "deviceType": rec.platform,
            "platformName": rec.platform,
            "modelName": rec.model,
            "osVersion": rec.os_version,
        },
        "carrierInfo": {"phoneNumber": phone_number(rec.id, rec.platform), "roamingEnabled": False},
        "enrollmentInfo": {
            "enrollmentStatus": rec.enrollment_status.upper()
            if rec.enrollment_status == "Enrolled"
            else rec.enrollment_status,
            "compliant": rec.compliance == "Compliant",
            "enrollmentTimestamp": fmt_ts(rec.enrolled_on) + "Z",
            "lastSeenTimestamp": fmt_ts(rec.last_seen) + "Z",
            "ownership": _OWNERSHIP_V2.get(rec.ownership, "UNDEFINED"),
            "organizationGroupId": og["uuid"],
            "organizationGroupName": og["name"],
            "userName": rec.user_name,
            "userEmailAddress": rec.user_email,
            "enrollmentUserUuid": state.users[user_id]["uuid"] if user_id in state.users else "",
            "managedBy": "MDM",
        },
        "totalStorageBytes": total,
        "availableStorageBytes": avail,
        "computerName": rec.serial.lower(),
        "WifiSsid": "CorpWiFi" if rec.platform != "WinRT" else "",
        "OSBuildVersion": rec.os_version.replace(".", ""),
        "Links": [{"Rel": "self", "Href": f"{base_url}/API/mdm/devices/{rec.uuid}"}],
        "uuid": rec.uuid,
    }


def device_v3(rec: DeviceRecord, state: SandboxState, base_url: str) -> dict[str, Any]:
    og = state.org_groups.get(rec.lgid, {"name": "", "uuid": ""})
    user_id = state.user_id_for(rec.user_email)
    total, avail = _storage(rec)
    ram = 16 * _GB if rec.platform in ("WinRT", "AppleOsX") else 6 * _GB
    return {
        "udid": udid(rec.id),
        "serial_number": rec.serial,
        "mac_address": mac_address(rec.id),
        "imei": imei(rec.id, rec.platform),
        "friendly_name": friendly_name(rec),
        "device_reported_name": f"{rec.user_name}'s {rec.model}",
        "organization_group_name": og["name"],
        "total_storage_bytes": total,
        "available_storage_bytes": avail,
        "total_physical_memory_bytes": ram,
        "available_physical_memory_bytes": ram // 3,
        "total_external_storage_bytes": 0,
        "available_external_storage_bytes": 0,
        "battery_level_percentage": _battery_charge(rec, state).rstrip("%"),
        "computer_name": rec.serial.lower(),
        "supervised": rec.ownership != "E" and rec.platform in ("Apple", "AppleOsX"),
        "data_encrypted": rec.encrypted,
        "platform_info": {
            "device_type": rec.platform,
            "platform_name": rec.platform,
            "model_name": rec.model,
            "os_version": rec.os_version,
        },
        "carrier_info": {"phone_number": phone_number(rec.id, rec.platform), "roaming_enabled": False},
        "enrollment_info": {
            "enrollment_status": rec.enrollment_status,
            "compliant": rec.compliance == "Compliant",
            "enrollment_timestamp": fmt_ts(rec.enrolled_on),
            "last_seen_timestamp": fmt_ts(rec.last_seen),
            "ownership": _OWNERSHIP_V2.get(rec.ownership, "UNDEFINED"),
            "organization_group_uuid": og["uuid"],
            "organization_group_name": og["name"],
            "user_name": rec.user_name,
            "user_email_address": rec.user_email,
            "enrollment_user_uuid": state.users[user_id]["uuid"] if user_id in state.users else "",
            "managed_by": "MDM",
        },
        "os_build_version": rec.os_version.replace(".", ""),
        "wifi_ssid": "CorpWiFi" if rec.platform != "WinRT" else "",
        "last_reboot": fmt_ts(rec.last_seen),
        "security_patch_date": fmt_ts(None),
        "system_update_received_time": fmt_ts(None),
        "is_security_patch_update": False,
        "hardware_device_identifier": udid(rec.id),
        "processor_architecture_name": "arm64" if _ARCH.get(rec.platform) == 12 else "x64",
        "Links": [{"Rel": "self", "Href": f"{base_url}/API/mdm/devices/{rec.uuid}"}],
        "uuid": rec.uuid,
    }
