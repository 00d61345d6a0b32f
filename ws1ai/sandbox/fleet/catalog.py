"""Static facts the simulator draws from: hardware models, OS versions, departments, roles, sites, names.

Numbers are plausible rather than measured: annual failure rates of a few percent with a spread of about 4x
between models, warranty terms as vendors sell them, and OS versions current for a late-2026 fleet.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DEPARTMENTS",
    "FIRST_NAMES",
    "LAST_NAMES",
    "MIN_COMPLIANT_LAG",
    "MODELS",
    "OS_VERSIONS",
    "ROLE_SENSITIVITY",
    "SITES",
    "Department",
    "HardwareModel",
    "Role",
    "Site",
]


@dataclass(frozen=True)
class HardwareModel:
    name: str
    platform: str
    form: str  # phone, tablet, laptop, desktop, rugged
    has_battery: bool
    reports_cycles: bool  # some Android OEMs do not expose a cycle count
    annual_failure_rate: float  # at age ~1-2 years; age and usage modulate it
    component_weights: tuple[float, float, float]  # battery, storage, logic_board
    warranty_years: int
    first_year: int  # first purchase year possible
    serial_prefix: str
    serial_len: int


def _m(
    name: str, platform: str, form: str, rate: float, weights: tuple[float, float, float], warranty: int,
    year: int, prefix: str, length: int, *, battery: bool = True, cycles: bool = True,
) -> HardwareModel:
    return HardwareModel(name, platform, form, battery, cycles and battery, rate, weights, warranty, year,
                         prefix, length)


MODELS: tuple[HardwareModel, ...] = (
    # Apple (iOS/iPadOS): batteries dominate phone failures.
    _m("iPhone 13", "Apple", "phone", 0.045, (0.60, 0.15, 0.25), 1, 2021, "F", 12),
    _m("iPhone 14", "Apple", "phone", 0.035, (0.55, 0.15, 0.30), 1, 2022, "G", 12),
    _m("iPhone 15", "Apple", "phone", 0.028, (0.50, 0.15, 0.35), 2, 2023, "H", 12),
    _m("iPhone 16", "Apple", "phone", 0.022, (0.45, 0.20, 0.35), 2, 2024, "J", 12),
    _m("iPhone 17", "Apple", "phone", 0.020, (0.40, 0.20, 0.40), 2, 2025, "K", 12),
    _m("iPhone SE (3rd generation)", "Apple", "phone", 0.050, (0.65, 0.15, 0.20), 1, 2022, "F", 12),
    _m("iPad (10th generation)", "Apple", "tablet", 0.030, (0.50, 0.20, 0.30), 1, 2022, "D", 12),
    _m("iPad Air 11-inch (M2)", "Apple", "tablet", 0.022, (0.45, 0.20, 0.35), 2, 2024, "D", 12),
    # macOS
    _m("MacBook Air (M1, 2020)", "AppleOsX", "laptop", 0.040, (0.50, 0.20, 0.30), 1, 2020, "C02", 12),
    _m("MacBook Air (13-inch, M2, 2022)", "AppleOsX", "laptop", 0.028, (0.40, 0.25, 0.35), 1, 2022, "C1", 12),
    _m("MacBook Air (13-inch, M3, 2024)", "AppleOsX", "laptop", 0.022, (0.40, 0.25, 0.35), 3, 2024, "C3", 12),
    _m("MacBook Pro (14-inch, M3 Pro, 2023)", "AppleOsX", "laptop", 0.026, (0.35, 0.25, 0.40), 3, 2023, "C4",
       12),
    _m("MacBook Pro (16-inch, 2019)", "AppleOsX", "laptop", 0.090, (0.40, 0.15, 0.45), 3, 2019, "C02", 12),
    _m("Mac mini (M2, 2023)", "AppleOsX", "desktop", 0.015, (0.0, 0.50, 0.50), 1, 2023, "H2", 12,
       battery=False),
    _m("iMac (24-inch, M3, 2023)", "AppleOsX", "desktop", 0.020, (0.0, 0.45, 0.55), 1, 2023, "W8", 12,
       battery=False),
    # Windows
    _m("Latitude 5440", "WinRT", "laptop", 0.045, (0.40, 0.30, 0.30), 3, 2023, "", 7),
    _m("Latitude 7450", "WinRT", "laptop", 0.032, (0.35, 0.30, 0.35), 3, 2024, "", 7),
    _m("Latitude 5420", "WinRT", "laptop", 0.070, (0.45, 0.30, 0.25), 3, 2021, "", 7),
    _m("ThinkPad T14 Gen 4", "WinRT", "laptop", 0.034, (0.35, 0.30, 0.35), 3, 2023, "PF", 8),
    _m("ThinkPad X1 Carbon Gen 11", "WinRT", "laptop", 0.030, (0.40, 0.25, 0.35), 3, 2023, "PW", 8),
    _m("HP EliteBook 840 G10", "WinRT", "laptop", 0.040, (0.35, 0.30, 0.35), 3, 2023, "5CG", 10),
    _m("Surface Laptop 6", "WinRT", "laptop", 0.050, (0.45, 0.20, 0.35), 2, 2024, "0F", 12),
    _m("OptiPlex 7010", "WinRT", "desktop", 0.025, (0.0, 0.55, 0.45), 3, 2022, "", 7, battery=False),
    _m("HP EliteDesk 800 G9", "WinRT", "desktop", 0.022, (0.0, 0.50, 0.50), 3, 2022, "MXL", 10,
       battery=False),
    # Android
    _m("Galaxy S23", "Android", "phone", 0.035, (0.50, 0.20, 0.30), 1, 2023, "R5C", 11),
    _m("Galaxy S24", "Android", "phone", 0.028, (0.45, 0.20, 0.35), 1, 2024, "R5D", 11),
    _m("Galaxy A54 5G", "Android", "phone", 0.060, (0.50, 0.30, 0.20), 1, 2023, "R58", 11, cycles=False),
    _m("Pixel 8", "Android", "phone", 0.040, (0.45, 0.20, 0.35), 1, 2023, "3", 14),
    _m("Zebra TC52", "Android", "rugged", 0.065, (0.60, 0.20, 0.20), 3, 2020, "2", 14),
    _m("Zebra TC58", "Android", "rugged", 0.040, (0.55, 0.20, 0.25), 3, 2023, "2", 14),
    _m("Galaxy Tab Active4 Pro", "Android", "rugged", 0.045, (0.50, 0.25, 0.25), 3, 2022, "R52", 11,
       cycles=False),
)

# Newest first; a device's lag (how many steps back it sits) is drawn per device, longer for old devices.
OS_VERSIONS: dict[str, tuple[str, ...]] = {
    "Apple": ("27.1", "27.0.1", "26.7.2", "26.7", "26.6", "26.5.1", "18.7.4", "17.7.10"),
    "AppleOsX": ("27.1", "27.0.1", "26.7.1", "26.6", "15.7.3", "14.8.2"),
    "WinRT": ("10.0.26200.7171", "10.0.26200.6899", "10.0.26100.7171", "10.0.26100.6584", "10.0.22631.6060",
              "10.0.19045.6575"),
    "Android": ("16.0.0", "15.0.0", "14.0.0", "13.0.0", "12.0.0"),
}

# Compliance policy: the oldest OS (as steps back in OS_VERSIONS) still compliant. Older is NonCompliant:
# iOS/macOS below 26, Windows 10, Android below 14.
MIN_COMPLIANT_LAG: dict[str, int] = {"Apple": 5, "AppleOsX": 3, "WinRT": 4, "Android": 2}


@dataclass(frozen=True)
class Role:
    name: str
    weight: float
    sensitivity: str  # low, medium, high, critical: what the data on this person's devices is worth


@dataclass(frozen=True)
class Department:
    name: str
    weight: float
    roles: tuple[Role, ...]
    mac_share: float  # share of computers that are Macs
    desktop_share: float
    phone_share: float  # share of people with a second (mobile) device
    rugged: bool = False  # frontline: the primary device is a shared rugged Android


DEPARTMENTS: tuple[Department, ...] = (
    Department("Engineering", 0.22, (
        Role("Software Engineer", 0.55, "high"), Role("Site Reliability Engineer", 0.15, "critical"),
        Role("QA Engineer", 0.15, "medium"), Role("Engineering Manager", 0.15, "high")), 0.65, 0.05, 0.45),
    Department("Sales", 0.16, (
        Role("Account Executive", 0.55, "medium"), Role("Sales Engineer", 0.25, "medium"),
        Role("Sales Manager", 0.20, "high")), 0.30, 0.0, 0.95),
    Department("Marketing", 0.07, (
        Role("Designer", 0.40, "low"), Role("Content Marketer", 0.40, "low"),
        Role("Marketing Manager", 0.20, "medium")), 0.75, 0.10, 0.6),
    Department("Finance", 0.07, (
        Role("Accountant", 0.45, "high"), Role("Financial Analyst", 0.35, "high"),
        Role("Controller", 0.20, "critical")), 0.10, 0.25, 0.5),
    Department("Human Resources", 0.05, (
        Role("HR Generalist", 0.50, "high"), Role("Recruiter", 0.35, "medium"),
        Role("HR Director", 0.15, "critical")), 0.20, 0.10, 0.6),
    Department("Legal", 0.03, (
        Role("Counsel", 0.55, "critical"), Role("Paralegal", 0.45, "high")), 0.25, 0.10, 0.7),
    Department("Customer Support", 0.13, (
        Role("Support Agent", 0.80, "medium"), Role("Support Manager", 0.20, "medium")), 0.05, 0.45, 0.2),
    Department("Operations", 0.24, (
        Role("Warehouse Associate", 0.70, "low"), Role("Logistics Coordinator", 0.20, "medium"),
        Role("Operations Manager", 0.10, "medium")), 0.0, 0.30, 0.15, rugged=True),
    Department("Executive", 0.03, (
        Role("Executive", 0.60, "critical"), Role("Executive Assistant", 0.40, "high")), 0.6, 0.0, 1.0),
)

ROLE_SENSITIVITY: dict[str, str] = {r.name: r.sensitivity for d in DEPARTMENTS for r in d.roles}


@dataclass(frozen=True)
class Site:
    name: str
    location_group_id: int
    weight: float


SITES: tuple[Site, ...] = (
    Site("New York", 1201, 0.22), Site("Austin", 1202, 0.16), Site("London", 1203, 0.17),
    Site("Berlin", 1204, 0.09), Site("Bangalore", 1205, 0.14), Site("Singapore", 1206, 0.07),
    Site("Memphis DC", 1207, 0.09), Site("Remote", 1208, 0.06),
)

FIRST_NAMES: tuple[str, ...] = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
    "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
    "Priya", "Arjun", "Ananya", "Rahul", "Wei", "Mei", "Hiroshi", "Yuki", "Fatima", "Omar", "Aisha",
    "Mohammed", "Sofia", "Mateo", "Lucia", "Diego", "Emma", "Noah", "Olivia", "Liam", "Ava", "Lukas",
    "Hannah", "Jonas", "Lea", "Chloe", "Ethan", "Grace", "Kwame", "Amara", "Chen", "Ingrid", "Sven",
    "Nadia", "Ivan", "Elena", "Tariq", "Leila", "Daniel", "Zoe", "Samuel", "Isabel", "Kenji", "Rosa",
)
LAST_NAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Patel", "Sharma", "Iyer", "Reddy", "Wang", "Li", "Zhang", "Tanaka", "Sato", "Khan", "Hassan", "Ali",
    "Mueller", "Schmidt", "Schneider", "Fischer", "Weber", "Okafor", "Mensah", "Nguyen", "Tran", "Kim",
    "Park", "Silva", "Santos", "Rossi", "Russo", "Dubois", "Laurent", "Novak", "Kowalski", "Ivanova",
    "Andersson", "Larsen", "O'Brien", "Murphy", "Walsh", "Cohen", "Levi", "Costa", "Ferreira", "Yilmaz",
)
