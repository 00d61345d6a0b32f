"""The managed-app catalogue: which apps exist, on which form factors, at what price, and who needs them.

`audience` maps a role, a department or "*" (everyone) to the chance a device of that person has the app;
the most specific match wins. Apps with a high chance for a role are that role's tools (used, mostly); apps
installed by chance ("*" with a small share) are the ones that sit unused and cost money.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["APP_CATALOG", "FORMS_BY_PLATFORM", "AppSpec", "seasonal_apps"]

DESKTOP = ("AppleOsX", "WinRT")
MOBILE = ("Apple", "Android")
FORMS_BY_PLATFORM = {"Apple": ("phone", "tablet"), "Android": ("phone", "tablet", "rugged"),
                     "AppleOsX": ("laptop", "desktop"), "WinRT": ("laptop", "desktop")}


@dataclass(frozen=True)
class AppSpec:
    name: str
    bundle_id: str
    platforms: tuple[str, ...]
    monthly_usd: float
    audience: dict[str, float] = field(default_factory=dict)
    rugged: bool = False  # installed on shared rugged devices (and only those when `rugged_only`)
    rugged_only: bool = False
    seasonal: bool = False  # used around quarter or year end by nature (tax, audit, planning tools)


APP_CATALOG: tuple[AppSpec, ...] = (
    AppSpec("Workspace ONE Intelligent Hub", "com.airwatch.rfhub", DESKTOP + MOBILE, 0.0, {"*": 0.97},
            rugged=True),
    AppSpec("Microsoft Outlook", "com.microsoft.Outlook", DESKTOP + MOBILE, 0.0, {"*": 0.9}),
    AppSpec("Microsoft Teams", "com.microsoft.teams2", DESKTOP + MOBILE, 0.0, {"*": 0.85}),
    AppSpec("Microsoft 365 Apps", "com.microsoft.office", DESKTOP, 0.0, {"*": 0.9}),
    AppSpec("Workday", "com.workday.workdroidapp", MOBILE, 0.0, {"*": 0.45}),
    AppSpec("Lookout for Work", "com.lookout.enterprise", MOBILE, 0.0, {"*": 0.6}),
    AppSpec("Google Chrome", "com.google.Chrome", DESKTOP, 0.0, {"*": 0.7}),
    AppSpec("Visual Studio Code", "com.microsoft.VSCode", DESKTOP, 0.0, {"Engineering": 0.85, "*": 0.03}),
    AppSpec("Slack", "com.tinyspeck.slackmacgap", DESKTOP + MOBILE, 8.75,
            {"Engineering": 0.9, "Marketing": 0.7, "Executive": 0.6, "*": 0.25}),
    AppSpec("Zoom Workplace", "us.zoom.xos", DESKTOP + MOBILE, 13.33,
            {"Sales": 0.85, "Human Resources": 0.6, "Recruiter": 0.9, "*": 0.3}),
    AppSpec("Adobe Acrobat Pro", "com.adobe.Acrobat.Pro", DESKTOP, 19.99,
            {"Legal": 0.9, "Finance": 0.55, "Human Resources": 0.45, "*": 0.12}),
    AppSpec("Adobe Creative Cloud", "com.adobe.acc.AdobeCreativeCloud", DESKTOP, 59.99,
            {"Designer": 0.95, "Content Marketer": 0.45, "Marketing Manager": 0.3, "*": 0.015}),
    AppSpec("Figma", "com.figma.Desktop", DESKTOP, 15.0,
            {"Designer": 0.9, "Marketing": 0.3, "Software Engineer": 0.12, "*": 0.01}),
    AppSpec("Tableau Desktop", "com.tableausoftware.tableaudesktop", DESKTOP, 75.0,
            {"Financial Analyst": 0.8, "Controller": 0.4, "Sales Manager": 0.3, "Finance": 0.2, "*": 0.015}),
    AppSpec("Microsoft Power BI Pro", "com.microsoft.powerbi", DESKTOP + MOBILE, 14.0,
            {"Finance": 0.55, "Sales Manager": 0.5, "Operations Manager": 0.4, "*": 0.06}),
    AppSpec("Salesforce", "com.salesforce.chatter", DESKTOP + MOBILE, 80.0,
            {"Sales": 0.92, "Customer Support": 0.15, "Executive": 0.3, "*": 0.01}),
    AppSpec("Zendesk Agent Workspace", "com.zendesk.agent", DESKTOP + MOBILE, 55.0,
            {"Customer Support": 0.95, "Sales Engineer": 0.1, "*": 0.005}),
    AppSpec("IntelliJ IDEA Ultimate", "com.jetbrains.intellij", DESKTOP, 24.9,
            {"Software Engineer": 0.55, "QA Engineer": 0.3, "Site Reliability Engineer": 0.25}),
    AppSpec("Docker Desktop", "com.docker.docker", DESKTOP, 24.0,
            {"Software Engineer": 0.7, "Site Reliability Engineer": 0.85, "QA Engineer": 0.5, "*": 0.01}),
    AppSpec("Postman", "com.postmanlabs.mac", DESKTOP, 14.0,
            {"QA Engineer": 0.75, "Software Engineer": 0.3, "Sales Engineer": 0.3}),
    AppSpec("Jira Cloud", "com.atlassian.jira.mobile", DESKTOP + MOBILE, 8.15,
            {"Engineering": 0.85, "Engineering Manager": 0.95, "*": 0.08}),
    AppSpec("1Password", "com.1password.1password", DESKTOP + MOBILE, 7.99,
            {"Engineering": 0.7, "Executive": 0.5, "*": 0.12}),
    AppSpec("DocuSign", "com.docusign.ink", DESKTOP + MOBILE, 25.0,
            {"Legal": 0.8, "Sales Manager": 0.6, "Human Resources": 0.45, "Finance": 0.3, "*": 0.03}),
    AppSpec("Microsoft Visio", "com.microsoft.visio", DESKTOP, 15.0,
            {"Site Reliability Engineer": 0.4, "Engineering Manager": 0.25, "*": 0.04}),
    AppSpec("Microsoft Project", "com.microsoft.project", DESKTOP, 30.0,
            {"Engineering Manager": 0.4, "Operations Manager": 0.5, "Marketing Manager": 0.2, "*": 0.02}),
    AppSpec("Smartsheet", "com.smartsheet.smartsheet", DESKTOP + MOBILE, 25.0,
            {"Operations Manager": 0.6, "Marketing Manager": 0.5, "Logistics Coordinator": 0.4, "*": 0.03}),
    AppSpec("Miro", "com.electron.realtimeboard", DESKTOP, 10.0,
            {"Marketing": 0.45, "Engineering Manager": 0.5, "Designer": 0.6, "*": 0.06}),
    AppSpec("Grammarly Business", "com.grammarly.ProjectLlama", DESKTOP, 15.0,
            {"Marketing": 0.55, "Legal": 0.3, "Recruiter": 0.3, "*": 0.05}),
    AppSpec("Camtasia", "com.techsmith.camtasia", DESKTOP, 25.0,
            {"Content Marketer": 0.3, "Support Manager": 0.3, "*": 0.01}),
    AppSpec("AutoCAD LT", "com.autodesk.AutoCADLT", DESKTOP, 60.0,
            {"Operations Manager": 0.3, "Logistics Coordinator": 0.25, "*": 0.003}),
    AppSpec("UltraTax CS", "com.thomsonreuters.ultratax", DESKTOP, 80.0,
            {"Accountant": 0.5, "Controller": 0.6}, seasonal=True),
    AppSpec("Workiva", "com.workiva.wdesk", DESKTOP, 45.0,
            {"Controller": 0.7, "Financial Analyst": 0.35, "Counsel": 0.2}, seasonal=True),
    AppSpec("SAP Concur", "com.concur.breeze", MOBILE, 8.0, {"Sales": 0.7, "Executive": 0.7, "*": 0.2}),
    AppSpec("UKG Pro", "com.ukg.pro", MOBILE, 0.0, {"Operations": 0.9, "*": 0.05}, rugged=True),
    AppSpec("Blue Yonder WMS Mobile", "com.blueyonder.wms", ("Android",), 12.0, {"Operations": 0.95},
            rugged=True, rugged_only=True),
    AppSpec("Zebra Workforce Connect PTT", "com.symbol.wfc.pttpro", ("Android",), 6.0, {"Operations": 0.7},
            rugged=True, rugged_only=True),
)


def seasonal_apps() -> set[str]:
    return {a.name for a in APP_CATALOG if a.seasonal}
