"""One class per API area; `UEMClient` exposes each as an attribute."""

from ws1ai.uem.resources.apps import Apps
from ws1ai.uem.resources.commands import Commands
from ws1ai.uem.resources.devices import Devices
from ws1ai.uem.resources.event_notifications import EventNotifications
from ws1ai.uem.resources.messages import Messages
from ws1ai.uem.resources.org_groups import OrgGroups
from ws1ai.uem.resources.profiles import Profiles
from ws1ai.uem.resources.scripts import Scripts
from ws1ai.uem.resources.sensors import Sensors
from ws1ai.uem.resources.smart_groups import SmartGroups
from ws1ai.uem.resources.system import System
from ws1ai.uem.resources.tags import Tags
from ws1ai.uem.resources.users import Users

__all__ = [
    "Apps",
    "Commands",
    "Devices",
    "EventNotifications",
    "Messages",
    "OrgGroups",
    "Profiles",
    "Scripts",
    "Sensors",
    "SmartGroups",
    "System",
    "Tags",
    "Users",
]
